import { expect, test } from '@playwright/test';

import { expectAccessible, screenshot, signIn } from './helpers';

test('an editor adds a customer group and reads the wholesale price list\'s tier prices', async ({ page }) => {
  await signIn(page, 'editor@demo', '/customer-groups');
  const groups = page.getByRole('table', { name: 'Customer groups' });
  await expect(groups.locator('tbody tr')).toHaveCount(2); // the demo shop's wholesale and vip
  const handle = `e2e-${Date.now().toString(36)}`;
  await page.getByLabel('Name', { exact: true }).fill('E2E resellers');
  await page.getByLabel('Handle', { exact: true }).fill(handle);
  await page.getByRole('button', { name: 'Add group' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Added E2E resellers.' })).toBeVisible();
  await expect(groups.getByRole('row').filter({ hasText: handle })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, 'customer-groups');

  // A handle already taken: the API's 409 is shown and nothing is added.
  await page.getByLabel('Name', { exact: true }).fill('Again');
  await page.getByLabel('Handle', { exact: true }).fill(handle);
  await page.getByRole('button', { name: 'Add group' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
  await expect(groups.locator('tbody tr')).toHaveCount(3);

  await page.getByRole('link', { name: 'Price lists' }).click();
  const lists = page.getByRole('table', { name: 'Price lists' });
  await expect(lists.locator('tbody tr').first()).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, 'price-lists');
  await lists.getByRole('link').first().click();
  const prices = page.getByRole('table', { name: 'Prices' });
  await expect(prices.locator('tbody tr').first()).toContainText('€');
  await expectAccessible(page);
});

test('a viewer cannot add customer groups', async ({ page }) => {
  await signIn(page, 'viewer@demo', '/customer-groups');
  await expect(page.getByRole('table', { name: 'Customer groups' }).locator('tbody tr').first()).toBeVisible();
  await expect(page.getByRole('button', { name: 'Add group' })).toHaveCount(0);
});
