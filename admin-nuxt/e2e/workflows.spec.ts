import { expect, test } from '@playwright/test';

import { api, expectAccessible, screenshot, signIn, staffToken } from './helpers';

interface RunStep { type: string; status: string; attempts: { attempt: number; error?: string | null }[] }

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// The tests' Kassa mails to a closed port: "On order placed" deducts stock and calculates
// taxes, then "send email" fails five times and the run stops for a person to retry.
test('an owner sees a failed run\'s steps and errors, and retries it', async ({ page }) => {
  const token = staffToken('owner@demo');
  const products = await api('/management/products?limit=1&status=active&sort=title', { token });
  const variants = await api(`/management/products/${products.body.items[0].id}/variants`, { token });
  const variant = variants.body.items.find((v: { stock: number | null }) => v.stock === null || v.stock >= 1);
  const order = await api('/management/orders', {
    token, method: 'POST',
    body: { customer_email: 'ben@example.com', shipping_country: 'NL', lines: [{ variant_id: variant.id, quantity: 1 }] },
  });
  expect(order.status, JSON.stringify(order.body)).toBe(201);
  const run = await waitFor('a failed run of the new order', async () => {
    const runs = await api('/management/workflow-runs?status=failed&limit=100', { token });
    for (const r of runs.body.items as { id: string }[]) {
      const detail = await api(`/management/workflow-runs/${r.id}`, { token });
      if (JSON.stringify(detail.body.event).includes(order.body.id)) return detail.body as { id: string; steps: RunStep[] };
    }
    return undefined;
  });
  expect(run.steps.map((s) => [s.type, s.status])).toEqual([['deduct_stock', 'succeeded'], ['calculate_taxes', 'succeeded'], ['send_email', 'failed']]);

  await signIn(page, 'owner@demo', '/workflow-runs?status=failed');
  const runs = page.getByRole('table', { name: 'Workflow runs' });
  await expect(runs.getByRole('row').filter({ hasText: 'On order placed' }).first()).toBeVisible();
  await page.goto(`/workflow-runs/${run.id}`);
  await expect(page.getByRole('heading', { name: 'Run of order.placed' })).toBeVisible();
  const email = page.getByRole('listitem').filter({ hasText: '3. send_email' });
  await expect(email.getByRole('row')).toHaveCount(6); // header + 5 attempts
  await expect(email.getByRole('row').nth(1)).toContainText('Failed');
  await expectAccessible(page);
  await screenshot(page, 'workflow-run');

  await page.getByRole('button', { name: 'Retry from step 3' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'The run is queued again.' })).toBeVisible();
  // The worker runs it again: five more attempts of the step that failed, and it fails again.
  await waitFor('the retried run to fail again', async () => {
    const detail = await api(`/management/workflow-runs/${run.id}`, { token });
    const step = (detail.body.steps as RunStep[])[2]!;
    return detail.body.status === 'failed' && step.attempts.length === 10 ? true : undefined;
  });
  await page.reload();
  await expect(email.getByRole('row')).toHaveCount(11);
});

test('a viewer reads runs but cannot retry them', async ({ page }) => {
  await signIn(page, 'viewer@demo', '/workflow-runs?status=failed');
  const link = page.getByRole('table', { name: 'Workflow runs' }).getByRole('link').first();
  await link.click();
  await expect(page.getByRole('heading', { name: /Run of/ })).toBeVisible();
  await expect(page.getByRole('button', { name: /Retry/ })).toHaveCount(0);
});
