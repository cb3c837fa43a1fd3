// The draft as the storefront would answer it (`GET /storefront/pages/{handle}`), made in the
// editor on every edit so the preview never waits for a save: texts resolved for the editing
// locale (else the shop's default, else any), images given a URL, rich text made safe, and the
// product blocks' `data` from the storefront API (looked up by the editor, see `productQuery`).
import type { PageDocument, Settings } from './pageDocument';
import type { PreviewSection } from './previewMessages';
import type { JsonSchema } from './schemaForm';

const TEXT = '#/$defs/text';
const RICH_TEXT = '#/$defs/rich_text';
const IMAGE = '#/$defs/image';

export interface RenderOptions {
  /** Settings schema by type name. */
  schemas: Record<string, JsonSchema>;
  locale: string;
  fallback: string;
  /** The shop's public media base URL, for images given by key (unknown: they show no picture). */
  mediaBaseUrl?: string;
  /** Makes rich text safe to show (the browser's sanitizer in the editor). */
  sanitize: (html: string) => string;
  /** The product data of a product block, when known. */
  data?: (type: string, settings: Settings) => unknown;
}

function walk(value: unknown, schema: JsonSchema | undefined, visit: (ref: string, value: unknown) => unknown): unknown {
  if (!schema) return value;
  const ref = typeof schema.$ref === 'string' ? schema.$ref : undefined;
  if (ref === TEXT || ref === RICH_TEXT || ref === IMAGE) return visit(ref, value);
  if (value && typeof value === 'object' && !Array.isArray(value) && schema.properties) {
    const properties = schema.properties as Record<string, JsonSchema>;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, properties[k], visit)]));
  }
  if (Array.isArray(value) && schema.items && typeof schema.items === 'object') {
    return value.map((item) => walk(item, schema.items as JsonSchema, visit));
  }
  return value;
}

/** One item's settings as the storefront shows them. */
export function renderSettings(settings: Settings, schema: JsonSchema | undefined, options: RenderOptions): Settings {
  return walk(settings, schema, (ref, value) => {
    if (ref === IMAGE) {
      const image = (value ?? {}) as Record<string, unknown>;
      if (typeof image.key === 'string' && options.mediaBaseUrl) return { ...image, url: `${options.mediaBaseUrl.replace(/\/$/, '')}/${image.key}` };
      return image;
    }
    const texts = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
    const pick = (l: string) => (typeof texts[l] === 'string' && texts[l] !== '' ? (texts[l] as string) : undefined);
    const text = pick(options.locale) ?? pick(options.fallback) ?? Object.values(texts).find((t): t is string => typeof t === 'string') ?? '';
    return ref === RICH_TEXT ? options.sanitize(text) : text;
  }) as Settings;
}

/** The whole draft, section by section, as `<RenderSection :data="section" />` takes it. */
export function renderDocument(doc: PageDocument, options: RenderOptions): PreviewSection[] {
  return doc.sections.map((section) => ({
    id: section.id,
    type: section.type,
    settings: renderSettings(section.settings, options.schemas[section.type], options),
    blocks: (section.blocks ?? []).map((block) => ({
      id: block.id,
      type: block.type,
      settings: renderSettings(block.settings, options.schemas[block.type], options),
      ...withData(block.type, block.settings, options),
    })),
    ...withData(section.type, section.settings, options),
  }));
}

function withData(type: string, settings: Settings, options: RenderOptions): { data?: unknown } {
  const data = options.data?.(type, settings);
  return data === undefined ? {} : { data };
}

/** The storefront query that fills a product block like Kassa does (undefined: not a product block). */
export function productQuery(type: string, settings: Settings): { kind: 'grid'; collection?: string; sort?: string; limit: number } | { kind: 'product'; handle: string } | undefined {
  if (type === 'product-grid') {
    const count = typeof settings.count === 'number' ? Math.min(24, Math.max(1, Math.trunc(settings.count))) : 8;
    const collection = typeof settings.collection === 'string' && settings.collection ? settings.collection : undefined;
    const sort = typeof settings.sort === 'string' ? settings.sort : undefined;
    return { kind: 'grid', collection, sort, limit: count };
  }
  if (type === 'featured-product') {
    return { kind: 'product', handle: typeof settings.product === 'string' ? settings.product : '' };
  }
  return undefined;
}
