import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import AxeBuilder from '@axe-core/playwright';
import { expect, type Page } from '@playwright/test';

export const API_URL = process.env.API_URL ?? 'http://127.0.0.1:18090';
export const ISSUER = process.env.ISSUER ?? 'http://127.0.0.1:19111';
export const PASSWORD = 'Password1!';
const here = path.dirname(fileURLToPath(import.meta.url));
const standinDir = path.join(here, '..', '..', 'infra', 'zitadel-standin');
export const screenshotsDir = path.join(here, '..', 'screenshots');

/** Opens `path` in the admin and signs in on the Zitadel stand-in's login page as `login`. */
export async function signIn(page: Page, login: string, path = '/products'): Promise<void> {
  await page.goto(path);
  await expect(page).toHaveURL(new RegExp(`^${ISSUER}/ui/login/`));
  await page.getByLabel('Login name').fill(login);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`${path.replace(/[?]/g, '\\?')}`));
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
}

/** axe on the page as it is: no serious or critical violations. */
export async function expectAccessible(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(screenshotsDir, `${name}.png`), fullPage: true });
}

/** A staff access token from the stand-in (its token.mjs drives the same code + PKCE flow). */
export function staffToken(login: string): string {
  const out = execFileSync(path.join(standinDir, 'node_modules', '.bin', 'node'), ['token.mjs', login, ISSUER], {
    cwd: standinDir,
    encoding: 'utf8',
  });
  return out.trim().split('\n').pop()!;
}

export async function api(pathAndQuery: string, init: { token?: string; method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { 'X-Tenant-ID': 'demo', ...init.headers };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${API_URL}${pathAndQuery}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}
