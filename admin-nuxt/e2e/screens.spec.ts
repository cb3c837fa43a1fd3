import { expect, test } from '@playwright/test';

import { api, expectAccessible, screenshot, signIn, staffToken } from './helpers';

const MOLLIE_SIM_KEY = process.env.MOLLIE_SIM_KEY ?? 'test_kassademo0000000000000000000000';

test('an owner reads orders and their lines, blocks and unblocks a customer, reads workflow runs and tax rates, and connects Mollie', async ({ page }) => {
  // An order placed through the API, with a demo variant.
  const token = staffToken('owner@demo');
  const products = await api('/management/products?limit=1&status=active&sort=handle', { token });
  const variants = await api(`/management/products/${products.body.items[0].id}/variants`, { token });
  const variant = variants.body.items.find((v: { stock: number | null }) => v.stock === null || v.stock >= 2);
  const order = await api('/management/orders', {
    token, method: 'POST',
    body: { customer_email: 'anna@example.com', shipping_country: 'NL', lines: [{ variant_id: variant.id, quantity: 2 }] },
  });
  expect(order.status, JSON.stringify(order.body)).toBe(201);

  await signIn(page, 'owner@demo', '/orders');
  const orders = page.getByRole('table', { name: 'Orders' });
  await expect(orders.getByRole('link', { name: `#${order.body.number}` })).toBeVisible();
  await expect(orders).toContainText('anna@example.com');
  await expectAccessible(page);
  await screenshot(page, 'orders');

  await orders.getByRole('link', { name: `#${order.body.number}` }).click();
  await expect(page.getByRole('heading', { name: `Order #${order.body.number}` })).toBeVisible();
  const lines = page.getByRole('table', { name: 'Order lines' });
  await expect(lines.locator('tbody tr')).toHaveCount(1);
  await expect(lines).toContainText(variant.sku);
  await expectAccessible(page);
  await screenshot(page, 'order-detail');

  await page.getByRole('link', { name: 'Customers' }).click();
  await expect(page.getByRole('heading', { name: 'Customers' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Customers' })).not.toContainText('Loading…');
  await expect(page.getByRole('table', { name: 'Customers' }).getByRole('link', { name: 'vip@demo.shop' })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, 'customers');

  // Blocking a customer ends their sessions and refuses sign-in: the shopper's own sign-in says so.
  await page.getByRole('link', { name: 'vip@demo.shop' }).click();
  await expect(page.getByRole('heading', { name: 'Demo Shopper' })).toBeVisible();
  await page.getByRole('button', { name: 'Block' }).click();
  await expect(page.getByText('Blocked: sign-in refused')).toBeVisible();
  const refused = await api('/storefront/customers/sign-in', { method: 'POST', body: { email: 'vip@demo.shop', password: 'demo-shopper-pass' } });
  expect(refused.status).toBeGreaterThanOrEqual(400);
  await expectAccessible(page);
  await screenshot(page, 'customer-detail');
  await page.getByRole('button', { name: 'Unblock' }).click();
  await expect(page.getByText('Allowed', { exact: true })).toBeVisible();
  const again = await api('/storefront/customers/sign-in', { method: 'POST', body: { email: 'vip@demo.shop', password: 'demo-shopper-pass' } });
  expect(again.status).toBe(200);

  await page.getByRole('link', { name: 'Workflow runs' }).click();
  await expect(page.getByRole('heading', { name: 'Workflow runs' })).toBeVisible();
  await expect(page.getByRole('combobox', { name: 'Workflow' }).getByRole('option', { name: 'On order placed' })).toBeAttached();
  await expect(page.getByRole('table', { name: 'Workflow runs' })).not.toContainText('Loading…');
  await expectAccessible(page);
  await screenshot(page, 'workflow-runs');

  await page.getByRole('link', { name: 'Tax rates' }).click();
  const rates = page.getByRole('table', { name: 'Tax rates' });
  await expect(rates).toContainText('NL');
  await page.getByLabel('Country (ISO code)').fill('LU');
  const taxClass = `e2e-${Date.now().toString(36)}`;
  await page.getByRole('textbox', { name: 'Tax class' }).fill(taxClass);
  await page.getByLabel('Rate (%)').fill('17');
  await page.getByRole('button', { name: 'Add rate' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Added LU ${taxClass} at 17 %.` })).toBeVisible();
  await expect(rates.getByRole('row').filter({ hasText: taxClass })).toContainText('17 %');
  await expectAccessible(page);
  await screenshot(page, 'tax-rates');

  await page.getByRole('link', { name: 'Payment settings' }).click();
  await expect(page.getByRole('heading', { name: /Connect Mollie|Replace the key/ })).toBeVisible();
  await page.getByLabel('Mollie API key').fill(MOLLIE_SIM_KEY);
  await page.getByLabel(/Methods/).fill('ideal, creditcard');
  await page.getByRole('button', { name: 'Save payment settings' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  await expect(page.getByText(`…${MOLLIE_SIM_KEY.slice(-4)}`)).toBeVisible();
  await expect(page.getByRole('definition').filter({ hasText: 'creditcard, ideal' })).toBeVisible();
  await expect(page.getByLabel('Mollie API key')).toHaveValue('');
  await expectAccessible(page);
  await screenshot(page, 'payment-settings');

  // A key Mollie refuses is shown as the API's error, and nothing changes.
  await page.getByLabel('Mollie API key').fill('test_thiskeyisnotknownatmollie000000000');
  await page.getByRole('button', { name: 'Save payment settings' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
  await expect(page.getByText(`…${MOLLIE_SIM_KEY.slice(-4)}`)).toBeVisible();
});
