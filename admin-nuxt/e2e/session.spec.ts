import { expect, test } from '@playwright/test';

import { ISSUER, signIn } from './helpers';

test('tokens stay in memory, refresh silently before they expire, and sign-out ends the Zitadel session', async ({ page }) => {
  await signIn(page, 'editor@demo');

  // Nothing token-like in web storage (only the shop's handle is remembered).
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
  expect(stored).not.toMatch(/eyJ|access_token|refresh_token|id_token/);

  // The stand-in of the tests issues 75-second access tokens: the admin trades its refresh
  // token for a new one about 60 seconds before that, without leaving the page.
  const refreshed = await page.waitForRequest(
    (r) => r.url() === `${ISSUER}/oauth/v2/token` && (r.postData() ?? '').includes('grant_type=refresh_token'),
    { timeout: 40_000 },
  );
  const answer = await refreshed.response();
  expect(answer?.status()).toBe(200);
  expect(await answer?.json()).toMatchObject({ token_type: 'Bearer', refresh_token: expect.any(String) });
  await expect(page).toHaveURL(/\/products$/);

  // The API takes the new token: a navigation loads a list.
  await page.getByRole('link', { name: 'Orders' }).click();
  await expect(page.getByRole('heading', { name: 'Orders' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Orders' })).not.toContainText('Could not load');

  await page.getByRole('button', { name: 'Sign out' }).click();
  // Back at the admin, which must send the user to a login form again: Zitadel's session is gone.
  await expect(page).toHaveURL(new RegExp(`^${ISSUER}/ui/login/`));
  await expect(page.getByLabel('Login name')).toBeVisible();
});

test('a reload signs in again through the Zitadel session without asking for the password', async ({ page }) => {
  await signIn(page, 'viewer@demo', '/customers');
  await page.reload();
  await expect(page).toHaveURL(/\/customers$/);
  await expect(page.getByRole('heading', { name: 'Customers' })).toBeVisible();
  await expect(page.getByTestId('roles')).toHaveText('viewer');
});
