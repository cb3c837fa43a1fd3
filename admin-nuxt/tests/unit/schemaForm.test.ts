import { describe, expect, it } from 'vitest';

import { defaultSettings, fieldLabel, formFields, inputValue, validateSettings, withInput } from '~/utils/editor/schemaForm';

import { defs, schemas, TENANT } from './fixtures/pageSchema';

const locales = ['en', 'nl'];
const check = (type: string, settings: Record<string, unknown>) => validateSettings(settings, formFields(schemas[type]!, defs), locales, 'en');

describe('settings forms from a block type’s JSON Schema', () => {
  it('makes one field per property, in order, of the kind its schema says', () => {
    const fields = formFields(schemas.hero!, defs);
    expect(fields.map((f) => [f.name, f.kind, f.translatable, f.required])).toEqual([
      ['heading', 'text', true, true],
      ['subheading', 'text', true, false],
      ['image', 'image', false, false],
      ['cta_label', 'text', true, false],
      ['cta_url', 'link', false, false],
    ]);
    expect(fields[0]!.maxLength).toBe(2000);
    const grid = formFields(schemas['product-grid']!, defs);
    expect(grid.find((f) => f.name === 'sort')).toMatchObject({ kind: 'enum', options: ['newest', 'title', 'price_asc', 'price_desc'], default: 'newest' });
    expect(grid.find((f) => f.name === 'count')).toMatchObject({ kind: 'number', integer: true, minimum: 1, maximum: 24, default: 8 });
    expect(grid.find((f) => f.name === 'collection')).toMatchObject({ kind: 'handle', description: expect.stringContaining('collection') });
  });

  it('puts well-known settings first whatever order the JSON has them in, the rest as the schema lists them', () => {
    const alphabetical = { type: 'object', properties: { cta_label: {}, cta_url: {}, heading: {}, image: {}, subheading: {}, zeta: {}, alpha: {} } };
    expect(formFields(alphabetical, defs).map((f) => f.name)).toEqual(['heading', 'subheading', 'image', 'cta_label', 'cta_url', 'zeta', 'alpha']);
  });

  it('handles a shop’s own types: booleans, strings with limits, titles, and anything else as JSON', () => {
    const fields = formFields({
      type: 'object',
      required: ['quote'],
      properties: {
        quote: { $ref: '#/$defs/text', title: 'Customer quote' },
        stars: { type: 'integer', exclusiveMinimum: 0, maximum: 5 },
        verified: { type: 'boolean' },
        code: { type: 'string', minLength: 2, maxLength: 4, pattern: '^[A-Z]+$' },
        extra: { type: 'array' },
      },
    }, defs);
    expect(fields.map((f) => f.kind)).toEqual(['text', 'number', 'boolean', 'string', 'json']);
    expect(fields[0]!.label).toBe('Customer quote');
    expect(fields[1]!.minimum).toBe(1);
    const problems = validateSettings({ quote: { en: 'Great' }, stars: 0, verified: 'yes', code: 'abc' }, fields, locales, 'en');
    expect(problems.map((p) => [p.field, p.message])).toEqual([
      ['stars', 'Stars is at least 1.'],
      ['verified', 'Verified must be yes or no.'],
      ['code', 'Code must match the pattern ^[A-Z]+$.'],
    ]);
  });

  it('labels properties like people write them', () => {
    expect(fieldLabel('cta_label')).toBe('CTA label');
    expect(fieldLabel('cta_url')).toBe('CTA URL');
    expect(fieldLabel('product-grid')).toBe('Product grid');
  });

  it('starts a new item with empty required texts and leaves optional settings to their defaults', () => {
    expect(defaultSettings(formFields(schemas['product-grid']!, defs))).toEqual({});
    expect(defaultSettings(formFields(schemas.hero!, defs))).toEqual({ heading: {} });
    const own = formFields({ type: 'object', required: ['size', 'shown'], properties: { size: { enum: ['s', 'l'], default: 'l' }, shown: { type: 'boolean' } } }, defs);
    expect(defaultSettings(own)).toEqual({ size: 'l', shown: false });
  });

  it('says what the schema requires, with a message per field', () => {
    expect(check('hero', { heading: {} })).toEqual([{ field: 'heading', locale: 'en', message: 'Heading is required (en).' }]);
    expect(check('hero', { heading: { en: 'Hello' } })).toEqual([]);
    expect(check('call-to-action', {}).map((p) => p.message)).toEqual(['Label is required (en).', 'URL is required.']);
  });

  it('checks patterns, ranges, enums and lengths with the schema’s limits', () => {
    expect(check('call-to-action', { label: { en: 'Go' }, url: 'javascript:alert(1)' })[0]!.message).toBe(
      'URL must be a link starting with https://, http://, mailto: or /.',
    );
    expect(check('call-to-action', { label: { en: 'Go' }, url: '/products' })).toEqual([]);
    expect(check('product-grid', { count: 30 })[0]!.message).toBe('Count is at most 24.');
    expect(check('product-grid', { count: 0 })[0]!.message).toBe('Count is at least 1.');
    expect(check('product-grid', { count: 2.5 })[0]!.message).toBe('Count must be a whole number.');
    expect(check('product-grid', { sort: 'random' })[0]!.message).toBe('Sort must be one of newest, title, price_asc, price_desc.');
    expect(check('product-grid', { collection: 'Summer Sale' })[0]!.message).toMatch(/must be a handle/);
    expect(check('hero', { heading: { en: 'x'.repeat(2001) } })[0]).toMatchObject({ locale: 'en', message: 'Heading (en) is at most 2000 characters.' });
    expect(check('hero', { heading: { en: 'Hi', de: 'Hallo' } })[0]!.message).toBe('Heading: the shop has no language “de”.');
    expect(check('hero', { heading: { en: 'Hi' }, colour: 'red' })[0]!.message).toBe('“colour” is no setting of this type.');
  });

  it('accepts an image by https URL or by a media key of the shop, and nothing else', () => {
    expect(check('hero', { heading: { en: 'H' }, image: { url: 'https://cdn.example/a.jpg' } })).toEqual([]);
    expect(check('hero', { heading: { en: 'H' }, image: { key: `tenants/${TENANT}/a.jpg` } })).toEqual([]);
    expect(check('hero', { heading: { en: 'H' }, image: { url: 'http://cdn.example/a.jpg' } })[0]!.message).toMatch(/https:\/\/ URL/);
    expect(check('hero', { heading: { en: 'H' }, image: { key: 'tenants/someone-else/a.jpg' } })[0]!.message).toMatch(/no upload of this shop/);
  });

  it('turns form input into settings: texts per locale, empty optional values removed, numbers and images typed', () => {
    const fields = formFields(schemas.hero!, defs);
    const [heading, subheading, image] = [fields[0]!, fields[1]!, fields[2]!];
    let settings = withInput({ heading: {} }, heading, 'Hello', 'en');
    settings = withInput(settings, heading, 'Hallo', 'nl');
    expect(settings).toEqual({ heading: { en: 'Hello', nl: 'Hallo' } });
    expect(inputValue(settings, heading, 'nl')).toBe('Hallo');
    settings = withInput(settings, heading, '', 'nl');
    expect(settings).toEqual({ heading: { en: 'Hello' } });
    settings = withInput(settings, subheading, 'Sub', 'en');
    settings = withInput(settings, subheading, '', 'en');
    expect(settings).toEqual({ heading: { en: 'Hello' } }); // an optional text with no language left is gone
    settings = withInput(settings, image, 'https://cdn.example/a.jpg');
    expect(settings.image).toEqual({ url: 'https://cdn.example/a.jpg' });
    settings = withInput(settings, image, `tenants/${TENANT}/b.png`);
    expect(settings.image).toEqual({ key: `tenants/${TENANT}/b.png` });
    expect(inputValue(settings, image)).toBe(`tenants/${TENANT}/b.png`);
    const count = formFields(schemas['product-grid']!, defs).find((f) => f.name === 'count')!;
    expect(withInput({}, count, '12')).toEqual({ count: 12 });
    expect(withInput({ count: 12 }, count, '')).toEqual({});
  });
});
