import { expect, test } from '@playwright/test';

import { api, expectAccessible, screenshot, signIn, staffToken } from './helpers';

// An editor of the demo shop signs in through the Zitadel stand-in, creates a product with a
// variant in the admin, and the storefront sells it.
test('an editor creates a product with a variant and the storefront lists it', async ({ page }) => {
  const suffix = Date.now().toString(36);
  const handle = `e2e-mug-${suffix}`;
  const title = `E2E Mug ${suffix}`;

  await signIn(page, 'editor@demo');
  await expect(page.getByTestId('user')).toHaveText('Eddie Editor');
  await expect(page.getByTestId('roles')).toHaveText('editor');
  await expect(page.getByRole('table', { name: 'Products' }).getByRole('row')).toHaveCount(26); // header + 25
  await expectAccessible(page);
  await screenshot(page, 'products');

  await page.getByRole('link', { name: 'New product' }).click();
  await expect(page.getByRole('heading', { name: 'New product' })).toBeVisible();
  await page.getByLabel('Handle', { exact: true }).fill(handle);
  await page.getByLabel('Title (en)').fill(title);
  await page.getByLabel('Title (nl)').fill(`E2E Mok ${suffix}`);
  await page.getByLabel('Description (en)').fill('A mug made by the end-to-end test.');
  await page.getByLabel('Status', { exact: true }).selectOption('active');
  await page.getByRole('button', { name: 'Create product' }).click();

  await expect(page.getByRole('heading', { name: title })).toBeVisible();
  await expect(page).toHaveURL(/\/products\/[0-9a-f-]{36}$/);
  await expect(page.getByText('No variants yet.')).toBeVisible();

  await page.getByRole('button', { name: 'Add variant' }).click();
  await page.getByLabel('SKU of variant 1').fill(`E2E-${suffix}`.toUpperCase());
  await page.getByLabel(/Price of variant 1/).fill('12.50');
  await page.getByLabel(/Stock of variant 1/).fill('7');
  await page.getByLabel(/Attributes of variant 1/).fill('color=blue, size=M');
  await page.getByRole('button', { name: 'Create variant 1' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  await expect(page.getByText('€12.50')).toBeVisible();
  await expect(page.getByTestId('variant-stock-0')).toHaveText('7');

  // Stock moves only by guarded adjustments (safe while orders deduct it).
  await page.getByText('Adjust stock of variant 1').click();
  await page.getByLabel('Units to add or remove (variant 1)').fill('-2');
  await page.getByLabel('Reason (variant 1)').fill('damaged in the warehouse');
  await page.getByRole('button', { name: 'Apply stock change to variant 1' }).click();
  await expect(page.getByTestId('variant-stock-0')).toHaveText('5');
  await page.getByLabel('Units to add or remove (variant 1)').fill('-6');
  await page.getByLabel('Reason (variant 1)').fill('too many');
  await page.getByRole('button', { name: 'Apply stock change to variant 1' }).click();
  await expect(page.getByRole('alert').filter({ hasText: /stock/i })).toBeVisible();
  await expect(page.getByTestId('variant-stock-0')).toHaveText('5');

  // A saved variant's price changes with a merge patch on its version (the adjustments bumped it).
  await page.getByLabel(/Price of variant 1/).fill('13');
  await page.getByRole('button', { name: 'Save variant 1' }).click();
  await expect(page.getByText('€13.00')).toBeVisible();
  await expect(page.getByTestId('variant-stock-0')).toHaveText('5');
  await expectAccessible(page);
  await screenshot(page, 'product-editor');

  // What the storefront sells now: the new product with its variant's price.
  const shop = await api(`/storefront/products?q=${encodeURIComponent(title)}`);
  expect(shop.status).toBe(200);
  const listed = (shop.body.items as { handle: string }[]).find((p) => p.handle === handle);
  expect(listed, JSON.stringify(shop.body)).toBeTruthy();
  const detail = await api(`/storefront/products/${handle}`);
  expect(detail.status).toBe(200);
  expect(JSON.stringify(detail.body)).toContain(`E2E-${suffix}`.toUpperCase());
  expect(JSON.stringify(detail.body)).toContain('1300');
});

test('a save over someone else\'s newer version shows the conflict and reloads it', async ({ page }) => {
  const token = staffToken('owner@demo');
  const handle = `e2e-conflict-${Date.now().toString(36)}`;
  const created = await api('/management/products', { token, method: 'POST', body: { handle, title: { en: 'Conflict before' } } });
  expect(created.status).toBe(201);

  await signIn(page, 'editor@demo', `/products/${created.body.id}`);
  await expect(page.getByLabel('Title (en)')).toHaveValue('Conflict before');

  // Someone else saves first.
  const other = await api(`/management/products/${created.body.id}`, {
    token, method: 'PATCH', body: { title: { en: 'Saved by someone else' } }, headers: { 'If-Match': `"${created.body.version}"` },
  });
  expect(other.status).toBe(200);

  await page.getByLabel('Title (en)').fill('My edit');
  await page.getByRole('button', { name: 'Save product' }).click();
  const dialog = page.getByRole('alertdialog');
  await expect(dialog).toContainText('Someone else saved this product meanwhile');
  await expectAccessible(page);
  await screenshot(page, 'product-conflict');

  await dialog.getByRole('button', { name: 'Reload latest' }).click();
  await expect(page.getByLabel('Title (en)')).toHaveValue('Saved by someone else');
  await expect(page.getByRole('alertdialog')).toHaveCount(0);

  // And now a save goes through, on the latest version.
  await page.getByLabel('Title (en)').fill('My edit, after reloading');
  await page.getByRole('button', { name: 'Save product' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  const saved = await api(`/management/products/${created.body.id}`, { token });
  expect(saved.body.title.en).toBe('My edit, after reloading');
  expect(saved.body.version).toBe(created.body.version + 2);

  // Never on sale: deleting removes it.
  await page.getByRole('button', { name: 'Delete product' }).click();
  await page.getByRole('group', { name: 'Confirm deletion' }).getByRole('button', { name: 'Yes, delete' }).click();
  await expect(page).toHaveURL(/\/products$/);
  expect((await api(`/management/products/${created.body.id}`, { token })).status).toBe(404);
});

test('an editor sets B2B rules and shows a product to one customer group only', async ({ page }) => {
  const token = staffToken('owner@demo');
  const handle = `e2e-b2b-${Date.now().toString(36)}`;
  const created = await api('/management/products', { token, method: 'POST', body: { handle, title: { en: 'Pallet of mugs' }, status: 'active' } });
  expect(created.status).toBe(201);

  await signIn(page, 'editor@demo', `/products/${created.body.id}`);
  await page.getByLabel('Minimum order quantity').fill('12');
  await page.getByLabel('Quantity step').fill('6');
  await page.getByLabel('Only some customer groups see this product').check();
  await page.getByRole('group', { name: 'Customer groups that see this product' }).getByLabel('Wholesale').check();
  await page.getByRole('button', { name: 'Save product' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();

  const saved = await api(`/management/products/${created.body.id}`, { token });
  expect(saved.body.b2b_settings).toMatchObject({ min_order_quantity: 12, quantity_step: 6, visible_to_customer_groups: ['wholesale'] });
  expect(saved.body.b2b_settings.quote_only ?? false).toBe(false);
  // Anonymous shoppers no longer see it.
  const anonymous = await api(`/storefront/products/${handle}`);
  expect(anonymous.status).toBe(404);

  // Clearing the rules removes them.
  await page.getByLabel('Minimum order quantity').fill('');
  await page.getByLabel('Only some customer groups see this product').uncheck();
  await page.getByRole('button', { name: 'Save product' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  const cleared = await api(`/management/products/${created.body.id}`, { token });
  expect(cleared.body.b2b_settings.min_order_quantity ?? null).toBeNull();
  expect(cleared.body.b2b_settings.visible_to_customer_groups ?? null).toBeNull();
  expect(cleared.body.b2b_settings.quantity_step).toBe(6);
  expect((await api(`/storefront/products/${handle}`)).status).toBe(200);

  // It has been active: deleting archives it, and the storefront stops selling it.
  await page.getByRole('button', { name: 'Delete product' }).click();
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await expect(page.getByText('it was archived rather than deleted')).toBeVisible();
  await expect(page.getByLabel('Status', { exact: true })).toHaveValue('archived');
  expect((await api(`/management/products/${created.body.id}`, { token })).body.status).toBe('archived');
  expect((await api(`/storefront/products/${handle}`)).status).toBe(404);
});
