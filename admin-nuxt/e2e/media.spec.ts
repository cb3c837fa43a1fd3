import { deflateSync } from 'node:zlib';

import { expect, test } from '@playwright/test';

import { api, expectAccessible, screenshot, signIn } from './helpers';

function crc32(bytes: Buffer): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

/** A real PNG of `size`×`size` pixels of one colour, made here (no fixture files). */
function png(size: number, rgb: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: size }, () => rgb).flat())]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: size }, () => row)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

interface ShopImage { url: string; alt: string }

// The end-to-end path: a product with a variant and an image, created in the admin,
// and the storefront shows the image.
test('an editor uploads product images (file button and drag and drop) and the storefront shows them', async ({ page }) => {
  const suffix = Date.now().toString(36);
  const handle = `e2e-poster-${suffix}`;
  const title = `E2E Poster ${suffix}`;

  await signIn(page, 'editor@demo', '/products/new');
  await page.getByLabel('Handle', { exact: true }).fill(handle);
  await page.getByLabel('Title (en)').fill(title);
  await page.getByLabel('Status', { exact: true }).selectOption('active');
  await page.getByRole('button', { name: 'Create product' }).click();
  await expect(page.getByRole('heading', { name: title })).toBeVisible();
  await page.getByRole('button', { name: 'Add variant' }).click();
  await page.getByLabel('SKU of variant 1').fill(`POSTER-${suffix}`.toUpperCase());
  await page.getByLabel(/Price of variant 1/).fill('9.90');
  await page.getByLabel(/Stock of variant 1/).fill('3');
  await page.getByRole('button', { name: 'Create variant 1' }).click();
  await expect(page.getByText('€9.90')).toBeVisible();
  await expect(page.getByText('This product has no images yet.')).toBeVisible();

  // 1. The file button (a real input, reachable with the keyboard).
  const red = png(8, [220, 30, 30]);
  await page.getByLabel('Choose images…').setInputFiles({ name: 'red.png', mimeType: 'image/png', buffer: red });
  await expect(page.getByRole('status').filter({ hasText: 'Uploaded red.png.' })).toBeVisible();
  const images = page.getByRole('list', { name: 'Product images' }).getByRole('listitem');
  await expect(images).toHaveCount(1);

  let shop = await api(`/storefront/products/${handle}`);
  expect(shop.status).toBe(200);
  let shown = shop.body.images as ShopImage[];
  expect(shown).toHaveLength(1);
  // The storefront's URL serves the very bytes uploaded.
  const served = await fetch(shown[0]!.url);
  expect(served.status).toBe(200);
  expect(Buffer.from(await served.arrayBuffer()).equals(red)).toBe(true);

  // 2. Drag and drop onto the drop zone.
  const blue = png(8, [30, 30, 220]);
  const dataTransfer = await page.evaluateHandle((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'blue.png', { type: 'image/png' }));
    return dt;
  }, blue.toString('base64'));
  await page.getByTestId('media-drop-zone').dispatchEvent('drop', { dataTransfer });
  await expect(page.getByRole('status').filter({ hasText: 'Uploaded blue.png.' })).toBeVisible();
  await expect(images).toHaveCount(2);

  // Alt text per language, then the blue image first.
  await page.getByLabel('Alt text (en) of image 2').fill('A blue square');
  await images.nth(1).getByRole('button', { name: 'Save alt text' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved the alt text.' })).toBeVisible();
  await page.getByRole('button', { name: 'Move image 2 up' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Moved image to position 1.' })).toBeVisible();
  await expect(page.getByLabel('Alt text (en) of image 1')).toHaveValue('A blue square');

  shop = await api(`/storefront/products/${handle}`);
  shown = shop.body.images as ShopImage[];
  expect(shown.map((i) => i.alt)).toEqual(['A blue square', '']);
  expect(Buffer.from(await (await fetch(shown[0]!.url)).arrayBuffer()).equals(blue)).toBe(true);

  // After a reload the admin shows the pictures from the URLs Kassa answers (not the local files).
  await page.reload();
  const first = images.first().getByRole('img');
  await expect(first).toHaveAttribute('src', shown[0]!.url);
  await expect.poll(() => first.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(8);
  await expectAccessible(page);
  await screenshot(page, 'product-media');

  // Delete the red one: the storefront keeps the blue one only.
  await page.getByRole('button', { name: 'Delete image 2' }).click();
  await expect(images).toHaveCount(1);
  shop = await api(`/storefront/products/${handle}`);
  expect((shop.body.images as ShopImage[]).map((i) => i.alt)).toEqual(['A blue square']);

  // Not an image: refused before anything is uploaded.
  await page.getByLabel('Choose images…').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await expect(page.getByRole('alert').filter({ hasText: 'only JPEG, PNG, WebP and AVIF' })).toBeVisible();
  await expect(images).toHaveCount(1);
});

test('a viewer sees a product\'s images but cannot upload', async ({ page }) => {
  await signIn(page, 'viewer@demo', '/products');
  await page.getByRole('table', { name: 'Products' }).getByRole('link').first().click();
  await expect(page.getByRole('heading', { name: 'Images' })).toBeVisible();
  await expect(page.getByLabel('Choose images…')).toHaveCount(0);
  await expect(page.getByRole('button', { name: /Delete image/ })).toHaveCount(0);
});
