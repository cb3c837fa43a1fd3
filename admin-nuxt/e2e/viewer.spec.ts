import { expect, test } from '@playwright/test';

import { api, expectAccessible, signIn, staffToken } from './helpers';

// A viewer reads everything and is offered no write: no create, save, add or delete.
test('a viewer sees the shop but no create or save buttons', async ({ page }) => {
  await signIn(page, 'viewer@demo');
  await expect(page.getByTestId('roles')).toHaveText('viewer');
  const products = page.getByRole('table', { name: 'Products' });
  await expect(products.getByRole('row')).toHaveCount(26);
  await expect(page.getByRole('link', { name: 'New product' })).toHaveCount(0);

  await products.getByRole('link', { name: 'Natural mug' }).click();
  await expect(page.getByRole('heading', { name: 'Natural mug' })).toBeVisible();
  await expect(page.getByText('your role in this shop does not let you change it')).toBeVisible();
  await expect(page.getByRole('table', { name: 'Variants' }).getByRole('row')).toHaveCount(4); // header + 3
  await expect(page.getByRole('button', { name: /save|create|add|delete/i })).toHaveCount(0);
  await expect(page.getByLabel('Title (en)')).toBeDisabled();
  await expect(page.getByLabel('SKU of variant 1')).not.toBeEditable();
  await expectAccessible(page);

  await page.getByRole('link', { name: 'Tax rates' }).click();
  await expect(page.getByRole('table', { name: 'Tax rates' }).getByRole('row').nth(1)).toBeVisible();
  await expect(page.getByRole('button', { name: /add rate/i })).toHaveCount(0);

  await page.getByRole('link', { name: 'Payment settings' }).click();
  await expect(page.getByRole('heading', { name: 'Mollie' })).toBeVisible();
  await expect(page.getByRole('button', { name: /save/i })).toHaveCount(0);

  // The API is the authority: the viewer's token cannot write either.
  const viewer = staffToken('viewer@demo');
  const refused = await api('/management/products', { token: viewer, method: 'POST', body: { handle: 'viewer-was-here', title: { en: 'No' } } });
  expect(refused.status).toBe(403);
});

test('a user with roles in two shops switches between them, and the UI follows the role', async ({ page }) => {
  await signIn(page, 'manager@demo');
  const switcher = page.getByLabel('Shop', { exact: true });
  await expect(switcher.getByRole('option')).toHaveText(['Demo Shop (demo)', 'Other Shop (other)']);
  await expect(page.getByTestId('roles')).toHaveText('editor');
  await expect(page.getByRole('link', { name: 'New product' })).toBeVisible();

  await switcher.selectOption('other');
  await expect(page.getByTestId('roles')).toHaveText('viewer');
  await expect(page.getByRole('link', { name: 'New product' })).toHaveCount(0);
  // The other shop's catalogue, not the demo shop's.
  await expect(page.getByRole('table', { name: 'Products' }).getByRole('link', { name: 'Natural mug' })).toHaveCount(0);

  await switcher.selectOption('demo');
  await expect(page.getByTestId('roles')).toHaveText('editor');
  await expect(page.getByRole('table', { name: 'Products' }).getByRole('link', { name: 'Natural mug' })).toBeVisible();
});
