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

// An owner creates a workflow from the API's step types, enables and disables it, reorders its
// steps and deletes it; an editor (no workflows:write) only reads workflows.
test('an owner creates, edits, enables, disables and deletes a workflow', async ({ page }) => {
  const token = staffToken('owner@demo');
  const name = `E2E refunds ${Date.now().toString(36)}`;
  await signIn(page, 'owner@demo', '/workflows');
  await expect(page.getByRole('table', { name: 'Workflows' }).getByRole('link', { name: 'On order placed' })).toBeVisible();
  await expectAccessible(page);
  await page.getByRole('link', { name: 'New workflow' }).click();
  await expect(page.getByRole('heading', { name: 'New workflow' })).toBeVisible();
  // The step types are the API's.
  const types = await api('/management/workflow-step-types', { token });
  await expect(page.getByLabel('Type of step 1').getByRole('option')).toHaveCount(types.body.items.length);

  await page.getByLabel('Name', { exact: true }).fill(name);
  // Refunds never happen in these tests: the workflow starts no runs that others would see.
  await page.getByLabel('Trigger event').fill('order.refunded');
  await page.getByLabel('Enabled').uncheck();
  await page.getByLabel('Conditions (JSON, optional)').fill('[{"pointer": "/shipping_country", "op": "in", "value": ["NL", "BE"]}]');
  await page.getByLabel('Type of step 1').selectOption('set_order_status');
  // The config starts from the type's schema.
  expect(JSON.parse(await page.getByLabel('Config of step 1 (JSON)').inputValue())).toHaveProperty('status');
  await page.getByLabel('Config of step 1 (JSON)').fill('{"status": "processing"}');
  await page.getByRole('button', { name: 'Add step' }).click();
  await page.getByLabel('Type of step 2').selectOption('calculate_taxes');
  await page.getByLabel('Max attempts (step 2)').fill('3');
  await page.getByLabel('Config of step 2 (JSON)').fill('{"oops"');
  await page.getByRole('button', { name: 'Create workflow' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'The config of step 2 is not JSON' })).toBeVisible();
  await page.getByLabel('Config of step 2 (JSON)').fill('{}');
  await page.getByRole('button', { name: 'Create workflow' }).click();
  await expect(page).toHaveURL(/\/workflows\/[0-9a-f-]{36}$/);
  await expect(page.getByRole('heading', { name })).toBeVisible();
  await expect(page.getByText('Disabled', { exact: true })).toBeVisible();
  const id = page.url().split('/').pop()!;
  let stored = await api(`/management/workflows/${id}`, { token });
  expect(stored.body).toMatchObject({
    name, trigger: 'order.refunded', enabled: false,
    conditions: [{ pointer: '/shipping_country', op: 'in', value: ['NL', 'BE'] }],
    steps: [{ type: 'set_order_status', config: { status: 'processing' } }, { type: 'calculate_taxes', max_attempts: 3 }],
  });

  await page.getByRole('button', { name: 'Enable workflow' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Enabled: new events start runs.' })).toBeVisible();
  expect((await api(`/management/workflows/${id}`, { token })).body.enabled).toBe(true);
  await page.getByRole('button', { name: 'Disable workflow' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Disabled: new events start no runs.' })).toBeVisible();
  expect((await api(`/management/workflows/${id}`, { token })).body.enabled).toBe(false);

  // Reorder and save (on the version the toggles left).
  await page.getByRole('button', { name: 'Move step 2 up' }).click();
  await page.getByRole('button', { name: 'Save workflow' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  stored = await api(`/management/workflows/${id}`, { token });
  expect(stored.body.steps.map((s: { type: string }) => s.type)).toEqual(['calculate_taxes', 'set_order_status']);
  expect(stored.body.enabled).toBe(false);
  await expectAccessible(page);
  await screenshot(page, 'workflow');

  // The API's own checks come back as they are (an unknown order status).
  await page.getByLabel('Config of step 2 (JSON)').fill('{"status": "teleported"}');
  await page.getByRole('button', { name: 'Save workflow' }).click();
  await expect(page.getByRole('alert').filter({ hasText: '/steps/1/config' })).toBeVisible();

  await page.getByRole('button', { name: 'Delete workflow' }).click();
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await expect(page).toHaveURL(/\/workflows$/);
  expect((await api(`/management/workflows/${id}`, { token })).status).toBe(404);
  await expect(page.getByRole('table', { name: 'Workflows' })).not.toContainText(name);
});

test('an editor reads workflows but cannot change them', async ({ page }) => {
  await signIn(page, 'editor@demo', '/workflows');
  await expect(page.getByRole('link', { name: 'New workflow' })).toHaveCount(0);
  await page.getByRole('table', { name: 'Workflows' }).getByRole('link', { name: 'On order placed' }).click();
  await expect(page.getByRole('heading', { name: 'On order placed' })).toBeVisible();
  await expect(page.getByLabel('Type of step 1')).toBeDisabled();
  await expect(page.getByLabel('Type of step 1')).toHaveValue('deduct_stock');
  await expect(page.getByRole('button', { name: /Save workflow|Delete workflow|Disable workflow/ })).toHaveCount(0);
});
