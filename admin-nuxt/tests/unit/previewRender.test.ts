import { describe, expect, it } from 'vitest';

import { normalize } from '~/utils/editor/pageDocument';
import { productQuery, renderDocument } from '~/utils/editor/previewRender';

import { schemas, TENANT } from './fixtures/pageSchema';

const doc = normalize({
  layout: 'landing',
  sections: [
    { id: 'hero', type: 'hero', settings: { heading: { en: 'Hello', nl: 'Hallo' }, subheading: { en: 'Only English' }, image: { key: `tenants/${TENANT}/h.jpg` }, cta_url: '/x' } },
    { id: 'story', type: 'rich-text', settings: { body: { en: '<p>Hi<script>x</script></p>' } } },
    { id: 'grid', type: 'product-grid', settings: { heading: { en: 'New' }, sort: 'price_asc', count: 40 } },
    { id: 'cols', type: 'columns', settings: {}, blocks: [{ id: 'c1', type: 'call-to-action', settings: { label: { nl: 'Ga' }, url: '/' } }] },
    { id: 'odd', type: 'unknown-type', settings: { whatever: { en: 'kept as is' } } },
  ],
});

describe('the draft rendered for the preview', () => {
  const sections = renderDocument(doc, {
    schemas,
    locale: 'nl',
    fallback: 'en',
    mediaBaseUrl: 'https://media.example/',
    sanitize: (html) => html.replace(/<script>.*?<\/script>/g, ''),
    data: (type, settings) => (type === 'product-grid' ? { products: [{ id: 'p', sort: settings.sort }] } : undefined),
  });

  it('resolves texts for the locale, else the default locale, else any', () => {
    expect(sections[0]!.settings.heading).toBe('Hallo');
    expect(sections[0]!.settings.subheading).toBe('Only English');
    expect(sections[3]!.blocks[0]!.settings.label).toBe('Ga');
  });

  it('gives images by key their public URL and makes rich text safe', () => {
    expect(sections[0]!.settings.image).toEqual({ key: `tenants/${TENANT}/h.jpg`, url: `https://media.example/tenants/${TENANT}/h.jpg` });
    expect(sections[1]!.settings.body).toBe('<p>Hi</p>');
  });

  it('fills product blocks with data and leaves types it does not know as they are', () => {
    expect(sections[2]!.data).toEqual({ products: [{ id: 'p', sort: 'price_asc' }] });
    expect(sections[0]!).not.toHaveProperty('data');
    expect(sections[4]).toMatchObject({ type: 'unknown-type', settings: { whatever: { en: 'kept as is' } } });
  });

  it('asks the storefront for what Kassa would put in a product block', () => {
    expect(productQuery('product-grid', { sort: 'price_asc', count: 40 })).toEqual({ kind: 'grid', collection: undefined, sort: 'price_asc', limit: 24 });
    expect(productQuery('product-grid', {})).toEqual({ kind: 'grid', collection: undefined, sort: undefined, limit: 8 });
    expect(productQuery('featured-product', { product: 'natural-mug' })).toEqual({ kind: 'product', handle: 'natural-mug' });
    expect(productQuery('hero', {})).toBeUndefined();
  });
});
