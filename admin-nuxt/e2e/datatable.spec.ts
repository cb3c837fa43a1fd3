import { expect, test } from '@playwright/test';

import { signIn } from './helpers';

function titles(page: import('@playwright/test').Page) {
  return page.getByRole('table', { name: 'Products' }).locator('tbody tr td:first-child');
}

test('the products table sorts, searches, filters and pages on the server, with its state in the URL', async ({ page }) => {
  await signIn(page, 'viewer@demo');
  const table = page.getByRole('table', { name: 'Products' });
  await expect(table.locator('tbody tr')).toHaveCount(25);

  // Sort by title: a button in the header, announced through aria-sort.
  await table.getByRole('button', { name: /Title/ }).click();
  await expect(page).toHaveURL(/sort=title/);
  await expect(table.getByRole('columnheader', { name: /Title/ })).toHaveAttribute('aria-sort', 'ascending');
  // aria-sort follows the URL at once; the rows follow when the server's answer arrives.
  await expect(async () => {
    const ascending = await titles(page).allInnerTexts();
    expect(ascending).toEqual([...ascending].sort((a, b) => a.localeCompare(b)));
  }).toPass({ timeout: 10_000 });
  await table.getByRole('button', { name: /Title/ }).click();
  await expect(page).toHaveURL(/order=desc/);
  await expect(table.getByRole('columnheader', { name: /Title/ })).toHaveAttribute('aria-sort', 'descending');
  await expect(async () => {
    const descending = await titles(page).allInnerTexts();
    expect(descending[0]!.localeCompare(descending[descending.length - 1]!)).toBeGreaterThan(0);
  }).toPass({ timeout: 10_000 });

  // Keyset pages: Next carries the API's cursor; Previous comes back to the same rows.
  const firstPage = await titles(page).allInnerTexts();
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page).toHaveURL(/cursor=/);
  await expect(titles(page).first()).not.toHaveText(firstPage[0]!);
  const secondPage = await titles(page).allInnerTexts();
  expect(secondPage.filter((t) => firstPage.includes(t))).toEqual([]);
  await page.getByRole('button', { name: 'Previous' }).click();
  await expect(titles(page)).toHaveText(firstPage);

  // Back and forward walk through the same states.
  await page.goBack();
  await expect(titles(page)).toHaveText(secondPage);
  await page.goForward();
  await expect(titles(page)).toHaveText(firstPage);

  // Search, typed with the keyboard, and a filter: both in the URL, the cursor dropped.
  await page.getByRole('searchbox', { name: 'Search' }).focus();
  await page.keyboard.type('candle');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/q=candle/);
  await expect(table.locator('tbody tr')).toHaveCount(5);
  await page.getByRole('combobox', { name: 'Status', exact: true }).selectOption('draft');
  await expect(page).toHaveURL(/status=draft/);
  await expect(titles(page)).toHaveText(['Terracotta candle']);
  expect(page.url()).not.toContain('cursor=');

  // A shared link opens the same state in another tab (signed in again through Zitadel's session).
  const link = page.url();
  const other = await page.context().newPage();
  await other.goto(link);
  await expect(other).toHaveURL(link);
  await expect(titles(other)).toHaveText(['Terracotta candle']);
  await expect(other.getByRole('searchbox', { name: 'Search' })).toHaveValue('candle');
  await expect(other.getByRole('combobox', { name: 'Status', exact: true })).toHaveValue('draft');
  await other.close();

  // Nothing matches: the empty state says so.
  await page.getByRole('combobox', { name: 'Status', exact: true }).selectOption('archived');
  await expect(table).toContainText('Nothing matches this search or filter.');
});

test('the column chooser shows and hides columns, by keyboard, and remembers them in the URL', async ({ page }) => {
  await signIn(page, 'viewer@demo');
  const table = page.getByRole('table', { name: 'Products' });
  await expect(table.getByRole('columnheader')).toHaveText([/Title/, /Handle/, 'Status', /Created/, /Updated/]);

  await page.getByText('Columns', { exact: true }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('checkbox', { name: 'Show Tax class column' }).check();
  await page.getByRole('checkbox', { name: 'Show Handle column' }).uncheck();
  await expect(table.getByRole('columnheader')).toHaveText([/Title/, 'Status', 'Tax class', /Created/, /Updated/]);
  await expect(page).toHaveURL(/cols=title%2Cstatus%2Ctax_class%2Ccreated_at%2Cupdated_at|cols=title,status,tax_class,created_at,updated_at/);
  await expect(page.getByRole('checkbox', { name: 'Show Title column' })).toBeDisabled();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('checkbox', { name: 'Show Title column' })).toBeHidden();
  await expect(page.getByText('Columns', { exact: true })).toBeFocused();

  await page.reload();
  await expect(table.getByRole('columnheader')).toHaveText([/Title/, 'Status', 'Tax class', /Created/, /Updated/]);
});
