import { expect, test } from '@playwright/test';

import { api, expectAccessible, screenshot, signIn, staffToken } from './helpers';

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
  await page.getByRole('link', { name: 'Price lists' }).click();
  await page.getByRole('table', { name: 'Price lists' }).getByRole('link').first().click();
  await expect(page.getByRole('table', { name: 'Prices' }).locator('tbody tr').first()).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Add prices' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^Remove the price/ })).toHaveCount(0);
});

test('an editor adds a variant\'s tiered prices to a price list and removes one tier', async ({ page }) => {
  const token = staffToken('owner@demo');
  const suffix = Date.now().toString(36);
  const product = await api('/management/products', { token, method: 'POST', body: { handle: `e2e-tiered-${suffix}`, title: { en: `E2E Tiered ${suffix}` }, status: 'active' } });
  expect(product.status).toBe(201);
  const sku = `TIER-${suffix}`.toUpperCase();
  const variant = await api(`/management/products/${product.body.id}/variants`, { token, method: 'POST', body: { sku, price: { amount: 1500, currency: 'EUR' }, stock: 100 } });
  expect(variant.status).toBe(201);
  const groups = await api('/management/customer-groups?limit=100', { token });
  const list = await api('/management/price-lists', {
    token, method: 'POST',
    body: { name: `E2E tiers ${suffix}`, customer_group_id: groups.body.items[0].id, currency: 'EUR', status: 'active' },
  });
  expect(list.status).toBe(201);

  await signIn(page, 'editor@demo', `/price-lists/${list.body.id}`);
  await expect(page.getByText('No prices in this list yet.')).toBeVisible();
  await page.getByLabel('Find a product').fill(`E2E Tiered ${suffix}`);
  await page.getByRole('button', { name: 'Find', exact: true }).click();
  await expect(page.getByLabel('Variant', { exact: true })).toHaveValue(variant.body.id);
  await page.getByLabel('From quantity (tier 1)').fill('1');
  await page.getByLabel('Price (tier 1)').fill('14.00');
  await page.getByRole('button', { name: 'Add tier' }).click();
  await page.getByLabel('From quantity (tier 2)').fill('10');
  await page.getByLabel('Price (tier 2)').fill('12,50');
  // A price that is not an amount is caught before anything is sent.
  await page.getByRole('button', { name: 'Add tier' }).click();
  await page.getByLabel('From quantity (tier 3)').fill('50');
  await page.getByLabel('Price (tier 3)').fill('cheap');
  await page.getByRole('button', { name: 'Save prices' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Tier 3: the price is not an amount in EUR.' })).toBeVisible();
  expect((await api(`/management/price-lists/${list.body.id}/prices`, { token })).body.items).toEqual([]);
  await page.getByRole('button', { name: 'Remove tier 3' }).click();
  await page.getByRole('button', { name: 'Save prices' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Saved 2 prices for E2E Tiered ${suffix} — ${sku}.` })).toBeVisible();

  const prices = page.getByRole('table', { name: 'Prices' });
  await expect(prices.locator('tbody tr')).toHaveCount(2);
  await expect(prices.getByRole('row').filter({ hasText: '€12.50' })).toContainText(sku);
  await expectAccessible(page);
  await screenshot(page, 'price-list-prices');
  let stored = await api(`/management/price-lists/${list.body.id}/prices`, { token });
  expect(stored.body.items.map((r: { min_quantity?: number; amount: number }) => [r.min_quantity ?? 1, r.amount]).sort((a: number[], b: number[]) => a[0]! - b[0]!)).toEqual([[1, 1400], [10, 1250]]);

  await page.getByRole('button', { name: `Remove the price from 10 of E2E Tiered ${suffix} — ${sku}` }).click();
  await expect(prices.locator('tbody tr')).toHaveCount(1);
  stored = await api(`/management/price-lists/${list.body.id}/prices`, { token });
  expect(stored.body.items.map((r: { min_quantity?: number; amount: number }) => [r.min_quantity ?? 1, r.amount])).toEqual([[1, 1400]]);
});
