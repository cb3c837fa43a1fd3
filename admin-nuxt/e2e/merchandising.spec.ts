import { expect, test } from '@playwright/test';

import { api, expectAccessible, screenshot, signIn, staffToken } from './helpers';

// An owner makes a manual collection, picks and orders its products; the API keeps that order.
test('an owner creates a manual collection and orders its products', async ({ page }) => {
  const suffix = Date.now().toString(36);
  const handle = `e2e-picks-${suffix}`;
  await signIn(page, 'owner@demo', '/collections');
  await expect(page.getByRole('table', { name: 'Collections' })).toBeVisible();
  await page.getByLabel('Handle', { exact: true }).fill(handle);
  await page.getByLabel('Title (en)').fill(`Picks ${suffix}`);
  await page.getByRole('button', { name: 'Create collection' }).click();
  await expect(page.getByRole('heading', { name: `Picks ${suffix}` })).toBeVisible();
  await expect(page.getByText('No products yet.')).toBeVisible();

  await page.getByLabel('Add a product').fill('mug');
  const found = page.getByRole('list', { name: 'Products found' }).getByRole('button');
  await expect(found.first()).toBeVisible();
  const first = (await found.nth(0).innerText()).replace(/^Add /, '').replace(/ \(.*\)$/, '');
  await found.nth(0).click();
  await page.getByLabel('Add a product').fill('mug');
  await expect(found.nth(1)).toBeEnabled();
  const second = (await found.nth(1).innerText()).replace(/^Add /, '').replace(/ \(.*\)$/, '');
  await found.nth(1).click();
  const chosen = page.getByRole('list', { name: 'Products in this collection' }).getByRole('listitem');
  await expect(chosen).toHaveCount(2);
  await page.getByRole('button', { name: `Move ${second} up` }).click();
  await expect(chosen.first()).toContainText(second);
  await page.getByRole('button', { name: 'Save products' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Products saved.' })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, 'collection');

  const token = staffToken('owner@demo');
  const list = await api('/management/collections?limit=100', { token });
  const collection = list.body.items.find((c: { handle: string }) => c.handle === handle);
  const titles = await Promise.all(collection.product_ids.map(async (id: string) => (await api(`/management/products/${id}`, { token })).body.title.en));
  expect(titles).toEqual([second, first]);

  await page.getByRole('link', { name: 'Collections' }).first().click();
  await expect(page.getByRole('table', { name: 'Collections' }).getByRole('link', { name: `Picks ${suffix}` })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, 'collections');
});

// An owner adds a shipping zone and a rate, and deletes the rate.
test('an owner adds a shipping zone with a rate, and deletes the rate', async ({ page }) => {
  const suffix = Date.now().toString(36);
  await signIn(page, 'owner@demo', '/shipping');
  const europe = page.getByRole('region', { name: 'Europe' });
  await expect(europe.getByRole('row', { name: /Standard/ })).toContainText('€4.95');
  await expect(europe.getByRole('row', { name: /Standard/ })).toContainText('€50.00');

  await page.getByLabel('Zone name').fill(`Nordics ${suffix}`);
  await page.getByLabel('Countries (ISO codes)').fill('is, no');
  await page.getByRole('button', { name: 'Add zone' }).click();
  const zone = page.getByRole('region', { name: `Nordics ${suffix}` });
  await expect(zone).toContainText('IS, NO');
  // A country is in one zone at most: the API's refusal is shown.
  await page.getByLabel('Zone name').fill(`Again ${suffix}`);
  await page.getByLabel('Countries (ISO codes)').fill('NL');
  await page.getByRole('button', { name: 'Add zone' }).click();
  await expect(page.getByRole('alert')).toBeVisible();

  await zone.getByLabel('Method name').fill(`Post ${suffix}`);
  await zone.getByLabel('Price (EUR)').fill('7.50');
  await zone.getByLabel('Free from (EUR)').fill('100');
  await zone.getByRole('button', { name: `Add rate to Nordics ${suffix}` }).click();
  await expect(zone.getByRole('row', { name: new RegExp(`Post ${suffix}`) })).toContainText('€7.50');
  await expectAccessible(page);
  await screenshot(page, 'shipping');

  const token = staffToken('owner@demo');
  const rates = (await api('/management/shipping-rates?limit=100', { token })).body.items;
  expect(rates.find((r: { name: string }) => r.name === `Post ${suffix}`)).toMatchObject({ amount: 750, free_above: 10000, currency: 'EUR' });

  await zone.getByRole('button', { name: `Delete Post ${suffix}` }).click();
  await expect(zone.getByText('No rates: checkout offers nothing for these countries.')).toBeVisible();
  const after = (await api('/management/shipping-rates?limit=100', { token })).body.items;
  expect(after.find((r: { name: string }) => r.name === `Post ${suffix}`)).toBeUndefined();
});
