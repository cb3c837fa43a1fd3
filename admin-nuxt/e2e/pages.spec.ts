import { expect, test, type Page } from '@playwright/test';

import { api, expectAccessible, screenshot, signIn, staffToken } from './helpers';

const preview = (page: Page) => page.frameLocator('iframe[title="Page preview"]');
const previewOrder = (page: Page) =>
  preview(page).locator('section[data-kassa-type]').evaluateAll((els) => els.map((e) => e.getAttribute('data-kassa-type')));
const treeOrder = (page: Page) =>
  page.getByRole('list', { name: 'Sections' }).locator(':scope > li').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));

// An editor builds a page in the visual editor — a hero and a product grid, reordered by drag
// and by keyboard, edited through the preview — publishes it, and the storefront API and the
// demo storefront (the storefront-blocks layer) show it.
test('an editor builds a page visually, publishes it, and the storefront shows it', async ({ page }) => {
  const suffix = Date.now().toString(36);
  const handle = `e2e-landing-${suffix}`;

  await signIn(page, 'editor@demo', '/pages');
  await expect(page.getByRole('table', { name: 'Pages' }).getByRole('link', { name: 'Home' })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, 'pages');
  await page.getByLabel('Handle', { exact: true }).fill(handle);
  await page.getByLabel('Title (en)').fill(`Landing ${suffix}`);
  await page.getByRole('button', { name: 'Create page' }).click();
  await expect(page.getByRole('heading', { name: `Landing ${suffix}` })).toBeVisible();
  await expect(page).toHaveURL(/\/pages\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('page-status')).toHaveText('Not published yet');
  await expect(preview(page).getByText('This page has no sections yet.')).toBeVisible();

  // A product grid, then a hero: each opens its settings form, generated from its schema.
  await page.getByLabel('Section type').selectOption('product-grid');
  await page.getByRole('button', { name: 'Add section' }).click();
  await expect(page.getByRole('heading', { name: 'Product grid settings' })).toBeVisible();
  // Handle settings suggest the shop's collections (and products, for a featured product).
  await expect(page.getByLabel('Collection', { exact: true })).toHaveAttribute('list', /.+/);
  const listId = await page.getByLabel('Collection', { exact: true }).getAttribute('list');
  await expect(page.locator(`datalist[id="${listId}"] option`).first()).toBeAttached();
  await page.getByLabel(/^Heading \(en\)/).fill(`Picked for you ${suffix}`);
  await page.getByLabel('Sort', { exact: true }).selectOption('title');
  await page.getByLabel('Count', { exact: true }).fill('30');
  await expect(page.getByTestId('error-count')).toHaveText('Count is at most 24.');
  await page.getByLabel('Count', { exact: true }).fill('3');
  await expect(page.getByTestId('error-count')).toHaveText('');
  const grid = preview(page).locator('[data-kassa-id="product-grid"]');
  await expect(grid.getByRole('heading', { name: `Picked for you ${suffix}` })).toBeVisible();
  await expect(grid.getByRole('listitem')).toHaveCount(3);

  await page.getByLabel('Section type').selectOption('hero');
  await page.getByRole('button', { name: 'Add section' }).click();
  await expect(page.getByRole('heading', { name: 'Hero settings' })).toBeVisible();
  const heading = page.getByLabel(/^Heading \(en\)/);
  await heading.fill('x');
  await heading.fill('');
  await expect(page.getByTestId('error-heading')).toHaveText('Heading is required (en).');
  await heading.fill(`Welcome ${suffix}`);
  await page.getByLabel(/^CTA label \(en\)/).fill('Shop now');
  await page.getByLabel('CTA URL').fill('shop');
  await expect(page.getByTestId('error-cta_url')).toHaveText('CTA URL must be a link starting with https://, http://, mailto: or /.');
  await page.getByLabel('CTA URL').fill('/products');
  // Translatable settings per language: the preview follows the editing language.
  await page.getByLabel('Editing language').selectOption('nl');
  await expect(page.getByLabel(/^Heading \(nl\)/)).toHaveValue('');
  await page.getByLabel(/^Heading \(nl\)/).fill(`Welkom ${suffix}`);
  await expect(preview(page).getByRole('heading', { name: `Welkom ${suffix}` })).toBeVisible();
  await page.getByLabel('Editing language').selectOption('en');
  await expect(preview(page).getByRole('heading', { name: `Welcome ${suffix}` })).toBeVisible();
  await expect(page.getByTestId('dirty')).toBeVisible();

  // Reorder: drag the hero's handle onto the grid, then back down and up again with the keyboard.
  expect(await treeOrder(page)).toEqual(['tree-product-grid', 'tree-hero']);
  // Drag and drop: the drag events a drag of the handle onto the grid's row fires. (Playwright's
  // mouse-driven drag decides whether a drag started one timer tick after the first move, which
  // on a busy machine is too early: it then sends plain mouse events and no drag happens.)
  const heroGrip = page.getByRole('button', { name: /^Reorder Hero/ });
  const gridRow = page.getByTestId('tree-product-grid');
  const dataTransfer = await page.evaluateHandle(() => new DataTransfer());
  await heroGrip.dispatchEvent('dragstart', { dataTransfer });
  await gridRow.dispatchEvent('dragenter', { dataTransfer });
  await gridRow.dispatchEvent('dragover', { dataTransfer });
  await expect(gridRow).toHaveClass(/border-dashed/);
  await gridRow.dispatchEvent('drop', { dataTransfer });
  await heroGrip.dispatchEvent('dragend', { dataTransfer });
  await expect.poll(() => treeOrder(page)).toEqual(['tree-hero', 'tree-product-grid']);
  await expect.poll(() => previewOrder(page)).toEqual(['hero', 'product-grid']);
  const heroHandle = page.getByRole('button', { name: /^Reorder Hero/ });
  await heroHandle.focus();
  await page.keyboard.press('ArrowDown');
  await expect.poll(() => treeOrder(page)).toEqual(['tree-product-grid', 'tree-hero']);
  await expect(page.getByRole('status').filter({ hasText: 'moved to position 2 of 2' })).toHaveCount(1);
  await expect(heroHandle).toBeFocused();
  await page.keyboard.press('ArrowUp');
  await expect.poll(() => treeOrder(page)).toEqual(['tree-hero', 'tree-product-grid']);
  await expect.poll(() => previewOrder(page)).toEqual(['hero', 'product-grid']);

  // Duplicate and remove.
  await page.getByRole('button', { name: /^Duplicate Hero/ }).click();
  await expect.poll(() => treeOrder(page)).toEqual(['tree-hero', 'tree-hero-2', 'tree-product-grid']);
  await expect.poll(() => previewOrder(page)).toEqual(['hero', 'hero', 'product-grid']);
  await page.getByTestId('tree-hero-2').getByRole('button', { name: /^Remove Hero/ }).click();
  await expect.poll(() => treeOrder(page)).toEqual(['tree-hero', 'tree-product-grid']);

  // The selection moved on to the removed item's neighbour.
  await expect(page.getByRole('heading', { name: 'Product grid settings' })).toBeVisible();

  // The preview is the editing surface: hovering outlines a block, clicking opens its settings.
  const heroInPreview = preview(page).getByRole('heading', { name: `Welcome ${suffix}` });
  await heroInPreview.hover();
  await expect(page.getByTestId('outline-hover')).toHaveAttribute('data-id', 'hero');
  await expect(page.getByTestId('outline-selected')).toHaveAttribute('data-id', 'product-grid');
  await heroInPreview.click();
  await expect(page.getByRole('heading', { name: 'Hero settings' })).toBeVisible();
  await expect(page.getByTestId('outline-selected')).toHaveAttribute('data-id', 'hero');
  await expect(page.getByLabel(/^Heading \(en\)/)).toHaveValue(`Welcome ${suffix}`);
  await expect(page.getByTestId('tree-hero').getByRole('button', { name: /^Hero · Welcome/ })).toHaveAttribute('aria-current', 'true');
  await preview(page).locator('[data-kassa-id="product-grid"]').hover();
  await expect(page.getByTestId('outline-hover')).toHaveAttribute('data-id', 'product-grid');
  await preview(page).locator('[data-kassa-id="product-grid"]').getByRole('heading').hover();
  await heroInPreview.scrollIntoViewIfNeeded();
  await expectAccessible(page);
  await screenshot(page, 'page-editor');

  await page.getByRole('button', { name: 'Save draft' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Draft saved.' })).toBeVisible();
  await expect(page.getByTestId('dirty')).toHaveCount(0);
  // Published only when published: the storefront does not show a draft.
  expect((await api(`/storefront/pages/${handle}`)).status).toBe(404);
  await page.getByRole('button', { name: 'Publish' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Published as revision 1.' })).toBeVisible();
  await expect(page.getByTestId('page-status')).toContainText('Published: revision 1');

  const shown = await api(`/storefront/pages/${handle}`);
  expect(shown.status).toBe(200);
  expect(shown.body.sections.map((s: { type: string }) => s.type)).toEqual(['hero', 'product-grid']);
  expect(shown.body.sections[0].settings).toMatchObject({ heading: `Welcome ${suffix}`, cta_label: 'Shop now', cta_url: '/products' });
  expect(shown.body.sections[1].settings).toMatchObject({ heading: `Picked for you ${suffix}`, sort: 'title', count: 3 });
  const titles = shown.body.sections[1].data.products.map((p: { title: string }) => p.title);
  expect(titles).toHaveLength(3);
  expect([...titles].sort((a: string, b: string) => a.localeCompare(b))).toEqual(titles);
  expect((await api(`/storefront/pages/${handle}?locale=nl`)).body.sections[0].settings.heading).toBe(`Welkom ${suffix}`);

  // The demo storefront renders it with the storefront-blocks layer.
  await page.goto(`/store/demo/${handle}`);
  const store = page.getByTestId('storefront-page');
  await expect(store.getByRole('heading', { name: `Welcome ${suffix}` })).toBeVisible();
  await expect(store.getByRole('link', { name: 'Shop now' })).toHaveAttribute('href', '/products');
  await expect(store.locator('[data-kassa-id="product-grid"]').getByRole('listitem')).toHaveCount(3);
  await expect(store.locator('[data-kassa-id="product-grid"]').getByRole('listitem').first()).toContainText(titles[0]);
  expect(await store.locator('section[data-kassa-type]').evaluateAll((els) => els.map((e) => e.getAttribute('data-kassa-type')))).toEqual(['hero', 'product-grid']);
  await expect(page.getByText('revision 1')).toBeVisible();
  await page.getByRole('navigation', { name: 'Language' }).getByRole('link', { name: 'nl' }).click();
  await expect(store.getByRole('heading', { name: `Welkom ${suffix}` })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, 'demo-storefront');
});

// Optimistic concurrency on the draft, and revisions: a save over someone else's save is
// refused and offers a choice; an old revision comes back into the draft.
test('a conflicting save asks what to do, and an old revision can be restored', async ({ page }) => {
  const suffix = Date.now().toString(36);
  const token = staffToken('editor@demo');
  const created = await api('/management/pages', { token, method: 'POST', body: { handle: `e2e-story-${suffix}`, title: { en: `Story ${suffix}` } } });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const first = { layout: 'default', sections: [{ id: 'intro', type: 'call-to-action', settings: { label: { en: 'First' }, url: '/' } }] };
  const saved = await api(`/management/pages/${id}/draft`, { token, method: 'PUT', body: first, headers: { 'If-Match': `"${created.body.version}"` } });
  expect(saved.status).toBe(200);
  expect((await api(`/management/pages/${id}/publish`, { token, method: 'POST' })).status).toBe(200);

  await signIn(page, 'editor@demo', `/pages/${id}`);
  await expect(page.getByTestId('page-status')).toContainText('Published: revision 1');
  await page.getByTestId('tree-intro').getByRole('button', { name: /^Call to action · First/ }).click();
  await page.getByLabel(/^Label \(en\)/).fill('Mine');

  // Someone else saves meanwhile.
  const current = await api(`/management/pages/${id}`, { token });
  const theirs = { layout: 'default', sections: [{ id: 'intro', type: 'call-to-action', settings: { label: { en: 'Theirs' }, url: '/' } }] };
  expect((await api(`/management/pages/${id}/draft`, { token, method: 'PUT', body: theirs, headers: { 'If-Match': `"${current.body.version}"` } })).status).toBe(200);

  await page.getByRole('button', { name: 'Save draft' }).click();
  const conflict = page.getByRole('alertdialog', { name: 'Someone else changed this page meanwhile' });
  await expect(conflict).toBeVisible();
  await conflict.getByRole('button', { name: 'Overwrite with my changes' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Draft saved.' })).toBeVisible();
  expect((await api(`/management/pages/${id}/draft`, { token })).body.sections[0].settings.label).toEqual({ en: 'Mine' });
  await page.getByRole('button', { name: 'Publish' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Published as revision 2.' })).toBeVisible();

  await page.getByText('Revisions', { exact: true }).click();
  const revisions = page.getByRole('list', { name: 'Revisions' });
  await expect(revisions.getByRole('listitem')).toHaveCount(2);
  await expect(revisions.getByRole('listitem').first()).toContainText('live');
  await revisions.getByRole('listitem').filter({ hasText: 'Revision 1' }).getByRole('button', { name: 'Restore…' }).click();
  await page.getByRole('button', { name: 'Restore revision 1' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Revision 1 is the draft now' })).toBeVisible();
  await expect(page.getByRole('button', { name: /^Call to action · First/ })).toBeVisible();
  await expect(preview(page).getByRole('link', { name: 'First' })).toBeVisible();
  expect((await api(`/management/pages/${id}/draft`, { token })).body.sections[0].settings.label).toEqual({ en: 'First' });
  // The storefront still shows revision 2 until the restored draft is published.
  expect((await api(`/storefront/pages/e2e-story-${suffix}`)).body.sections[0].settings.label).toBe('Mine');

  // The page's own fields share the page's version with the draft: saving them and then the
  // draft is no conflict.
  await page.getByText('Page details and schedule').click();
  await page.getByLabel('SEO title (en)').fill(`Our story ${suffix}`);
  await page.getByRole('button', { name: 'Save page details' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Page details saved.' })).toBeVisible();
  expect((await api(`/management/pages/${id}`, { token })).body.seo_title).toEqual({ en: `Our story ${suffix}` });
  await page.getByTestId('tree-intro').getByRole('button', { name: /^Call to action · First/ }).click();
  await page.getByLabel(/^Label \(en\)/).fill('Second');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Draft saved.' })).toBeVisible();

  // Scheduling publishes the draft later; it can be canceled.
  await page.getByLabel('Publish at').fill('2099-01-01T10:00');
  await page.getByRole('button', { name: 'Schedule', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Publishing is scheduled.' })).toBeVisible();
  await expect(page.getByTestId('page-status')).toContainText('scheduled for 1 Jan 2099');
  expect((await api(`/management/pages/${id}`, { token })).body.publish_at).toMatch(/^2099-01-01T/);
  await page.getByRole('button', { name: 'Cancel schedule' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'The schedule is canceled.' })).toBeVisible();
  expect((await api(`/management/pages/${id}`, { token })).body.publish_at ?? null).toBeNull();
});

// A shop's own block type: the editor builds its form from the type's schema, and a storefront
// without a component for it shows the visible fallback instead of dropping it.
test('a shop’s own block type gets a generated form, and the storefront shows a fallback for it', async ({ page }) => {
  const suffix = Date.now().toString(36);
  const token = staffToken('editor@demo');
  const type = `quote-${suffix}`;
  const put = await api(`/management/block-types/${type}`, {
    token, method: 'PUT',
    body: {
      label: `Quote ${suffix}`,
      settings_schema: { type: 'object', required: ['quote'], properties: { quote: { $ref: '#/$defs/text' }, stars: { type: 'integer', minimum: 1, maximum: 5 }, verified: { type: 'boolean' } } },
    },
  });
  expect(put.status).toBe(200);
  const created = await api('/management/pages', { token, method: 'POST', body: { handle: `e2e-quotes-${suffix}`, title: { en: `Quotes ${suffix}` } } });
  await signIn(page, 'editor@demo', `/pages/${created.body.id}`);
  await page.getByLabel('Section type').selectOption(type);
  await page.getByRole('button', { name: 'Add section' }).click();
  await expect(page.getByRole('heading', { name: `Quote ${suffix} settings` })).toBeVisible();
  await expect(preview(page).getByText(`Unknown block type “${type}”`)).toBeVisible();
  await page.getByLabel('Stars', { exact: true }).fill('9');
  await expect(page.getByTestId('error-stars')).toHaveText('Stars is at most 5.');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'need attention before the draft can be saved' })).toBeVisible();
  await expect(page.getByTestId('error-quote')).toHaveText('Quote is required (en).');
  await page.getByLabel(/^Quote \(en\)/).fill('Lovely mugs');
  await page.getByLabel('Stars', { exact: true }).fill('5');
  await page.getByLabel('Verified').check();
  await page.getByRole('button', { name: 'Publish' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Published as revision 1.' })).toBeVisible();
  const shown = await api(`/storefront/pages/e2e-quotes-${suffix}`);
  expect(shown.body.sections[0]).toMatchObject({ type, settings: { quote: 'Lovely mugs', stars: 5, verified: true } });
  await page.goto(`/store/demo/e2e-quotes-${suffix}`);
  await expect(page.getByRole('note').filter({ hasText: `Unknown block type “${type}”` })).toBeVisible();
});

// A viewer sees pages and the editor but is offered no write, and the API refuses one anyway.
test('a viewer can look at a page in the editor but cannot change or save it', async ({ page }) => {
  await signIn(page, 'viewer@demo', '/pages');
  await expect(page.getByRole('heading', { name: 'New page' })).toHaveCount(0);
  await page.getByRole('table', { name: 'Pages' }).getByRole('link', { name: 'Home' }).click();
  await expect(page.getByRole('heading', { name: 'Home', level: 1 })).toBeVisible();
  await expect(page.getByText('your role in this shop does not let you change it')).toBeVisible();
  await expect(page.getByRole('button', { name: /save|publish|add|remove|duplicate|reorder|restore/i })).toHaveCount(0);
  await page.getByRole('button', { name: /^Hero · / }).click();
  await expect(page.getByRole('heading', { name: 'Hero settings' })).toBeVisible();
  await expect(page.getByLabel(/^Heading \(en\)/)).toBeDisabled();
  await expect(preview(page).locator('[data-kassa-id="hero"]')).toBeVisible();
  await expectAccessible(page);

  const viewer = staffToken('viewer@demo');
  const home = (await api('/management/pages?limit=100', { token: viewer })).body.items.find((p: { handle: string }) => p.handle === 'home');
  const refused = await api(`/management/pages/${home.id}/draft`, {
    token: viewer, method: 'PUT', body: { layout: 'default', sections: [] }, headers: { 'If-Match': `"${home.version}"` },
  });
  expect(refused.status).toBe(403);
});

// The preview's postMessage channel takes messages only from the expected window at the admin's
// origin: a frame of another origin can neither select in the editor nor render in the preview,
// and another window of the admin's origin cannot select either.
test('the editor and its preview ignore messages from other origins and other windows', async ({ page }) => {
  await signIn(page, 'editor@demo', '/pages');
  await page.getByRole('table', { name: 'Pages' }).getByRole('link', { name: 'About us' }).click();
  await page.getByRole('button', { name: /^Rich text · / }).click();
  await expect(page.getByRole('heading', { name: 'Rich text settings' })).toBeVisible();
  const frame = page.frame({ url: /\/preview-frame$/ })!;
  await expect(preview(page).getByRole('link', { name: 'Write to us' })).toBeVisible();

  // Listeners added after the editor's and the frame's own run after them, so a count says
  // when both sides have handled the forged messages.
  await page.evaluate(() => {
    (window as unknown as { seen: number }).seen = 0;
    window.addEventListener('message', () => { (window as unknown as { seen: number }).seen++; });
  });
  await frame.evaluate(() => {
    (window as unknown as { seen: number }).seen = 0;
    window.addEventListener('message', () => { (window as unknown as { seen: number }).seen++; });
  });
  await page.evaluate(() => {
    const select = { channel: 'kassa-page-preview', type: 'select', id: 'contact' };
    const render = { channel: 'kassa-page-preview', type: 'render', layout: 'default', locale: 'en', sections: [] };
    // Another origin (a sandboxed frame's is opaque): to the editor, and to the preview.
    const foreign = document.createElement('iframe');
    foreign.setAttribute('sandbox', 'allow-scripts');
    foreign.srcdoc = `<script>
      parent.postMessage(${JSON.stringify(select)}, '*');
      parent.document; // never reached across origins
    </script><script>parent.frames[0].postMessage(${JSON.stringify(render)}, '*');</script>`;
    document.body.appendChild(foreign);
    // The admin's origin, but not the preview's window.
    window.postMessage(select, window.location.origin);
  });
  await page.waitForFunction(() => (window as unknown as { seen: number }).seen >= 2);
  await frame.waitForFunction(() => (window as unknown as { seen: number }).seen >= 1);
  await expect(page.getByRole('heading', { name: 'Rich text settings' })).toBeVisible();
  await expect(preview(page).getByRole('link', { name: 'Write to us' })).toBeVisible();

  // The preview itself still selects.
  await preview(page).getByRole('link', { name: 'Write to us' }).click();
  await expect(page.getByRole('heading', { name: 'Call to action settings' })).toBeVisible();
});

// The shop's own block types: added with a settings schema, refused when the schema breaks the
// rules, replaced on their version, deleted; the built-ins are read-only.
test('an editor adds, replaces and deletes one of the shop’s own block types', async ({ page }) => {
  const suffix = Date.now().toString(36);
  const name = `badge-${suffix}`;
  await signIn(page, 'editor@demo', '/pages');
  await page.getByRole('link', { name: 'Block types' }).click();
  const table = page.getByRole('table', { name: 'Block types' });
  await expect(table.getByRole('row', { name: /Hero hero/ })).toContainText('Built in');
  await expect(table.getByRole('button', { name: 'Edit hero' })).toHaveCount(0);

  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Label', { exact: true }).fill(`Badge ${suffix}`);
  await page.getByLabel('Settings schema (JSON Schema)').fill('{"type": "object", "properties": {"text": {"$ref": "https://evil.example/s.json"}}}');
  await page.getByRole('button', { name: 'Add block type' }).click();
  await expect(page.getByRole('alert')).toContainText('only these references are allowed');

  await page.getByLabel('Settings schema (JSON Schema)').fill('{"type": "object", "properties": {"text": {"$ref": "#/$defs/text"}}}');
  await page.getByRole('button', { name: 'Add block type' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Badge ${suffix} (${name}) saved.` })).toBeVisible();
  await expect(table.getByRole('row', { name: new RegExp(name) })).toContainText('The shop’s own');
  await expectAccessible(page);
  await screenshot(page, 'block-types');

  await table.getByRole('button', { name: `Edit ${name}` }).click();
  await page.getByLabel('Label', { exact: true }).fill(`Ribbon ${suffix}`);
  await page.getByRole('button', { name: 'Save block type' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Ribbon ${suffix} (${name}) saved.` })).toBeVisible();
  const token = staffToken('editor@demo');
  expect((await api(`/management/block-types/${name}`, { token })).body).toMatchObject({ label: `Ribbon ${suffix}`, builtin: false });

  await table.getByRole('button', { name: `Delete ${name}` }).click();
  await expect(page.getByRole('status').filter({ hasText: `Ribbon ${suffix} (${name}) deleted.` })).toBeVisible();
  expect((await api(`/management/block-types/${name}`, { token })).status).toBe(404);
});
