import { randomUUID } from 'node:crypto';

import { expect, test } from '@playwright/test';

import { api, expectAccessible, screenshot, signIn, staffToken } from './helpers';

const MOLLIE_SIM_KEY = process.env.MOLLIE_SIM_KEY ?? 'test_kassademo0000000000000000000000';

/** A shopper's paid order: cart, address, shipping, checkout, and "paid" on the Mollie simulator's checkout page. */
async function paidOrder(): Promise<{ id: string; number: number; total: number }> {
  const products = await api('/storefront/products?limit=20');
  let created: Awaited<ReturnType<typeof api>> | undefined;
  for (const item of products.body.items as { handle: string }[]) {
    const product = await api(`/storefront/products/${item.handle}`);
    const variant = (product.body.variants as { id: string; in_stock: boolean }[]).find((v) => v.in_stock);
    if (!variant) continue;
    const attempt = await api('/storefront/carts', { method: 'POST', body: { lines: [{ variant_id: variant.id, quantity: 1 }] }, headers: { 'Idempotency-Key': randomUUID() } });
    if (attempt.status === 201 || attempt.status === 200) {
      created = attempt;
      break;
    }
  }
  expect(created, 'a product the shop sells one unit of').toBeDefined();
  const cart = created!.body.cart;
  const auth = { 'Cart-Token': created!.body.cart_token as string };
  const address = { first_name: 'Ada', last_name: 'Lovelace', line1: 'Damrak 1', postal_code: '1012 LG', city: 'Amsterdam', country: 'NL' };
  const addressed = await api(`/storefront/carts/${cart.id}`, { method: 'PATCH', headers: auth, body: { email: 'ada@example.com', shipping_country: 'NL', shipping_address: address } });
  expect(addressed.status, JSON.stringify(addressed.body)).toBe(200);
  const shipped = await api(`/storefront/carts/${cart.id}`, { method: 'PATCH', headers: auth, body: { shipping_rate_id: addressed.body.shipping_methods[0].rate_id } });
  expect(shipped.status).toBe(200);
  const started = await api('/storefront/checkout', {
    method: 'POST', headers: { ...auth, 'Idempotency-Key': randomUUID() }, body: { cart_id: cart.id, redirect_url: 'https://shop.example/thanks' },
  });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  // What the simulator's checkout form posts when the shopper picks "paid".
  const paid = await fetch(started.body.checkout_url, {
    method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'outcome=paid',
  });
  expect(paid.status).toBe(303);
  // Kassa asks Mollie while the payment is open (the return page's status).
  await expect.poll(async () => (await api(`/storefront/orders/${started.body.order_id}/status`, { headers: auth })).body.payment_status, { timeout: 15_000 }).toBe('paid');
  const status = await api(`/storefront/orders/${started.body.order_id}/status`, { headers: auth });
  return { id: started.body.order_id, number: started.body.order_number, total: status.body.order.total_amount };
}

// An owner refunds part of a paid order through Mollie (the simulator) from the order's page.
test('an owner refunds part of a paid order, cannot refund more than is left, and a viewer is offered no refund', async ({ page, browser }) => {
  const token = staffToken('owner@demo');
  const settings = await api('/management/payment-settings', { token, method: 'PUT', body: { api_key: MOLLIE_SIM_KEY, methods: ['ideal', 'creditcard'] } });
  expect(settings.status, JSON.stringify(settings.body)).toBe(200);
  const order = await paidOrder();

  await signIn(page, 'owner@demo', `/orders/${order.id}`);
  await expect(page.getByRole('heading', { name: `Order #${order.number}` })).toBeVisible();
  const refunds = page.getByRole('region', { name: 'Refunds' });
  await expect(refunds.getByText('No refunds.')).toBeVisible();

  await refunds.getByLabel('Amount (EUR)').fill(((order.total + 100) / 100).toFixed(2));
  await refunds.getByRole('button', { name: 'Refund' }).click();
  await expect(refunds.getByRole('alert')).toContainText('at most');
  expect((await api(`/management/orders/${order.id}/refunds`, { token })).body.items).toEqual([]);

  await refunds.getByLabel('Amount (EUR)').fill('1.50');
  await refunds.getByLabel('Description (on the bank statement)').fill('Dented box');
  await refunds.getByRole('button', { name: 'Refund' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Refund of €1.50' })).toBeVisible();
  const row = refunds.getByRole('table', { name: 'Refunds' }).getByRole('row').nth(1);
  await expect(row).toContainText('€1.50');
  await expect(row).toContainText('Dented box');
  await expect(row).toContainText(/re_\w+/);
  await expect(page.getByRole('row', { name: /Refunded/ })).toContainText('€1.50');
  await expectAccessible(page);
  await screenshot(page, 'order-refunds');

  const stored = (await api(`/management/orders/${order.id}/refunds`, { token })).body.items;
  expect(stored).toHaveLength(1);
  expect(stored[0]).toMatchObject({ amount: 150, currency: 'EUR', description: 'Dented box' });

  // A viewer reads the refunds of the same (still refundable) order and is offered none.
  const context = await browser.newContext({ baseURL: process.env.ADMIN_URL ?? 'http://127.0.0.1:13000', viewport: { width: 1280, height: 800 } });
  const viewer = await context.newPage();
  await signIn(viewer, 'viewer@demo', `/orders/${order.id}`);
  const seen = viewer.getByRole('region', { name: 'Refunds' });
  await expect(seen.getByRole('table', { name: 'Refunds' }).getByRole('row').nth(1)).toContainText('Dented box');
  await expect(seen.getByRole('button', { name: 'Refund' })).toHaveCount(0);
  await expect(seen.getByLabel('Amount (EUR)')).toHaveCount(0);
  await context.close();
});
