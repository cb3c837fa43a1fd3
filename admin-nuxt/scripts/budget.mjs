// The JavaScript budget of the admin: signs in (viewer@demo, on the Zitadel stand-in) and
// loads the products screen in Chromium, then prints the gzip size of every script the
// admin served for it (each counted once) and fails above the budget.
//
//   node scripts/budget.mjs <admin URL of the products screen> <budget in KB>
import zlib from 'node:zlib';

import { chromium } from '@playwright/test';

const [url = 'http://127.0.0.1:13000/products', budgetKb = '300'] = process.argv.slice(2);
const origin = new URL(url).origin;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox'],
});
const scripts = new Map();
try {
  const page = await browser.newPage();
  // Bodies are read from the server afterwards: the first document's go away with the
  // redirect to the sign-in page.
  page.on('request', (request) => {
    if (request.resourceType() === 'script' && request.url().startsWith(origin)) scripts.set(request.url(), undefined);
  });
  await page.goto(url);
  await page.getByLabel('Login name').fill(process.env.BUDGET_USER ?? 'viewer@demo');
  await page.getByLabel('Password').fill('Password1!');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('table', { name: 'Products' }).locator('tbody tr').first().waitFor();
  await page.waitForLoadState('networkidle');
} finally {
  await browser.close().catch(() => {});
}
let raw = 0;
let gzip = 0;
for (const scriptUrl of scripts.keys()) {
  const response = await fetch(scriptUrl);
  if (!response.ok) throw new Error(`${scriptUrl} answered ${response.status}`);
  const body = Buffer.from(await response.arrayBuffer());
  const s = { raw: body.length, gzip: zlib.gzipSync(body, { level: 9 }).length };
  raw += s.raw;
  gzip += s.gzip;
  console.log(`  ${(s.gzip / 1024).toFixed(1).padStart(7)} KB gzip  ${(s.raw / 1024).toFixed(1).padStart(7)} KB  ${new URL(scriptUrl).pathname}`);
}
const kb = gzip / 1024;
console.log(`products screen, first load: ${kb.toFixed(1)} KB of JavaScript gzip (${(raw / 1024).toFixed(1)} KB raw, ${scripts.size} files); budget ${budgetKb} KB`);
if (kb > Number(budgetKb)) {
  console.error(`over the budget by ${(kb - Number(budgetKb)).toFixed(1)} KB`);
  process.exit(1);
}
