// Settings forms generated from a block type's JSON Schema (its `settings_schema`, whose
// shared definitions — `#/$defs/text`, `rich_text`, `image`, `link`, `handle` — live in the
// shop's page schema), and the checks the schema makes, with a message for each, so the editor
// says what is wrong before Kassa answers 422. Keywords the form cannot check are left to
// Kassa, whose field errors (JSON Pointers) land on the same fields.
import type { Settings } from './pageDocument';

export type JsonSchema = Record<string, unknown>;

export type FieldKind = 'text' | 'rich_text' | 'image' | 'link' | 'handle' | 'enum' | 'number' | 'boolean' | 'string' | 'json';

export interface Field {
  /** The settings property. */
  name: string;
  label: string;
  kind: FieldKind;
  /** Text per locale (text, rich_text). */
  translatable: boolean;
  required: boolean;
  description?: string;
  options?: (string | number | boolean)[];
  integer?: boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  default?: unknown;
  /** Image keys must match this (the shop's media prefix). */
  keyPattern?: string;
  urlPattern?: string;
}

export interface FieldProblem {
  field: string;
  /** The locale of a translatable text the problem is in. */
  locale?: string;
  message: string;
}

const REF_KINDS: Record<string, FieldKind> = {
  '#/$defs/text': 'text',
  '#/$defs/rich_text': 'rich_text',
  '#/$defs/image': 'image',
  '#/$defs/link': 'link',
  '#/$defs/handle': 'handle',
};

const ACRONYMS: Record<string, string> = { cta: 'CTA', url: 'URL', seo: 'SEO', id: 'ID', sku: 'SKU' };

/** `cta_label` → "CTA label"; a schema's own `title` wins. */
export function fieldLabel(name: string, schema?: JsonSchema): string {
  if (schema && typeof schema.title === 'string' && schema.title.trim()) return schema.title;
  const words = name.replace(/[_-]+/g, ' ').trim().split(' ').map((w) => ACRONYMS[w] ?? w).join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A schema with its `$ref` to a shared definition merged in (its own keywords win). */
function resolve(schema: JsonSchema, defs: Record<string, JsonSchema>): { schema: JsonSchema; ref?: string } {
  const ref = str(schema.$ref);
  if (!ref) return { schema };
  const name = ref.replace(/^#\/\$defs\//, '');
  const { $ref: _ignored, ...own } = schema;
  return { schema: { ...(defs[name] ?? {}), ...own }, ref };
}

/**
 * Where well-known settings go in a form. Kassa's JSON has its object keys in alphabetical
 * order, so the schema's own order is lost; these come first in this order, the rest after
 * them as the schema lists them.
 */
const FIELD_ORDER = ['heading', 'title', 'subheading', 'body', 'label', 'product', 'collection', 'image', 'alt', 'caption', 'cta_label', 'cta_url', 'url', 'link', 'sort', 'count'];

function rank(name: string): number {
  const at = FIELD_ORDER.indexOf(name);
  return at < 0 ? FIELD_ORDER.length : at;
}

/** The form's fields for a settings schema: well-known settings first (FIELD_ORDER), then the schema's order. */
export function formFields(settingsSchema: JsonSchema, defs: Record<string, JsonSchema> = {}): Field[] {
  const properties = (settingsSchema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set(Array.isArray(settingsSchema.required) ? (settingsSchema.required as string[]) : []);
  const ordered = Object.entries(properties).map((entry, i) => ({ entry, i })).sort((a, b) => rank(a.entry[0]) - rank(b.entry[0]) || a.i - b.i);
  return ordered.map(({ entry: [name, raw] }) => {
    const { schema, ref } = resolve(raw, defs);
    const base = { name, label: fieldLabel(name, raw), required: required.has(name), description: str(raw.description) ?? str(schema.description) };
    const refKind = ref ? REF_KINDS[ref] : undefined;
    if (refKind === 'text' || refKind === 'rich_text') {
      const each = (schema.additionalProperties ?? {}) as JsonSchema;
      return { ...base, kind: refKind, translatable: true, maxLength: num(each.maxLength), description: str(raw.description) };
    }
    if (refKind === 'image') {
      const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
      return { ...base, kind: 'image', translatable: false, keyPattern: str(props.key?.pattern), urlPattern: str(props.url?.pattern), description: str(raw.description) };
    }
    if (refKind === 'link' || refKind === 'handle') {
      return { ...base, kind: refKind, translatable: false, pattern: str(schema.pattern), maxLength: num(schema.maxLength), description: str(raw.description) };
    }
    if (Array.isArray(schema.enum)) {
      return { ...base, kind: 'enum', translatable: false, options: schema.enum as (string | number | boolean)[], default: schema.default };
    }
    const type = Array.isArray(schema.type) ? (schema.type as string[]).find((t) => t !== 'null') : str(schema.type);
    if (type === 'integer' || type === 'number') {
      return {
        ...base, kind: 'number', translatable: false, integer: type === 'integer', default: schema.default,
        minimum: num(schema.minimum) ?? (num(schema.exclusiveMinimum) !== undefined ? num(schema.exclusiveMinimum)! + (type === 'integer' ? 1 : Number.EPSILON) : undefined),
        maximum: num(schema.maximum) ?? (num(schema.exclusiveMaximum) !== undefined ? num(schema.exclusiveMaximum)! - (type === 'integer' ? 1 : Number.EPSILON) : undefined),
      };
    }
    if (type === 'boolean') return { ...base, kind: 'boolean', translatable: false, default: schema.default };
    if (type === 'string') {
      return { ...base, kind: 'string', translatable: false, minLength: num(schema.minLength), maxLength: num(schema.maxLength), pattern: str(schema.pattern), default: schema.default };
    }
    return { ...base, kind: 'json', translatable: false, default: schema.default };
  });
}

/**
 * The settings a new section or block starts with: empty required texts (to be filled in), a
 * required yes/no as no, a required value with a default as its default. An optional setting
 * stays unset — Kassa then does what the schema's `default` says (and may do more: a product
 * grid without a sort shows its collection in the collection's own order) — and the form shows
 * the default as what it is.
 */
export function defaultSettings(fields: Field[]): Settings {
  const settings: Settings = {};
  for (const field of fields) {
    if (!field.required) continue;
    if (field.default !== undefined) settings[field.name] = JSON.parse(JSON.stringify(field.default)) as unknown;
    else if (field.translatable) settings[field.name] = {};
    else if (field.kind === 'boolean') settings[field.name] = false;
  }
  return settings;
}

function matches(pattern: string | undefined, value: string): boolean {
  if (!pattern) return true;
  try {
    return new RegExp(pattern, 'u').test(value);
  } catch {
    return true; // a pattern JavaScript cannot read: Kassa checks it
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What is wrong with `value` for a text field of `label`, by the schema's rules (undefined: fine). */
function stringProblem(field: Field, value: string): string | undefined {
  if (field.minLength !== undefined && value.length < field.minLength) return `${field.label} needs at least ${plural(field.minLength, 'character')}.`;
  if (field.maxLength !== undefined && value.length > field.maxLength) return `${field.label} is at most ${plural(field.maxLength, 'character')}.`;
  if (!matches(field.pattern, value)) {
    if (field.kind === 'link') return `${field.label} must be a link starting with https://, http://, mailto: or /.`;
    if (field.kind === 'handle') return `${field.label} must be a handle: lowercase letters and digits, words joined by single hyphens.`;
    return `${field.label} must match the pattern ${field.pattern}.`;
  }
  return undefined;
}

/**
 * Every problem of `settings` under `fields`: required fields (a required text needs its
 * default locale), types, enums, ranges, lengths and patterns.
 */
export function validateSettings(settings: Settings, fields: Field[], locales: string[], defaultLocale: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const known = new Set(fields.map((f) => f.name));
  for (const name of Object.keys(settings)) {
    if (!known.has(name)) problems.push({ field: name, message: `“${name}” is no setting of this type.` });
  }
  for (const field of fields) {
    const value = settings[field.name];
    const missing = value === undefined || value === null || value === '';
    if (field.translatable) {
      const texts = value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
      if (value !== undefined && !texts) {
        problems.push({ field: field.name, message: `${field.label} must be a text per language.` });
        continue;
      }
      if (field.required && !str(texts?.[defaultLocale])?.trim()) {
        problems.push({ field: field.name, locale: defaultLocale, message: `${field.label} is required (${defaultLocale}).` });
      }
      for (const [locale, text] of Object.entries(texts ?? {})) {
        if (!locales.includes(locale)) problems.push({ field: field.name, locale, message: `${field.label}: the shop has no language “${locale}”.` });
        else if (typeof text !== 'string') problems.push({ field: field.name, locale, message: `${field.label} (${locale}) must be text.` });
        else if (field.maxLength !== undefined && text.length > field.maxLength) {
          problems.push({ field: field.name, locale, message: `${field.label} (${locale}) is at most ${plural(field.maxLength, 'character')}.` });
        }
      }
      continue;
    }
    if (missing) {
      if (field.required) problems.push({ field: field.name, message: `${field.label} is required.` });
      continue;
    }
    switch (field.kind) {
      case 'image': {
        const image = value as Record<string, unknown>;
        const url = str(image?.url);
        const key = str(image?.key);
        if (Object.keys(image ?? {}).length !== 1 || (url === undefined && key === undefined)) {
          problems.push({ field: field.name, message: `${field.label} is either an https:// URL or the key of an upload.` });
        } else if (url !== undefined && !matches(field.urlPattern, url)) {
          problems.push({ field: field.name, message: `${field.label} must be an https:// URL without spaces.` });
        } else if (key !== undefined && !matches(field.keyPattern, key)) {
          problems.push({ field: field.name, message: `${field.label}: “${key}” is no upload of this shop (an image is an https:// URL or a media key tenants/…).` });
        }
        break;
      }
      case 'enum':
        if (!field.options!.some((o) => o === value)) problems.push({ field: field.name, message: `${field.label} must be one of ${field.options!.join(', ')}.` });
        break;
      case 'number': {
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          problems.push({ field: field.name, message: `${field.label} must be a number.` });
        } else if (field.integer && !Number.isInteger(value)) {
          problems.push({ field: field.name, message: `${field.label} must be a whole number.` });
        } else if (field.minimum !== undefined && value < field.minimum) {
          problems.push({ field: field.name, message: `${field.label} is at least ${field.minimum}.` });
        } else if (field.maximum !== undefined && value > field.maximum) {
          problems.push({ field: field.name, message: `${field.label} is at most ${field.maximum}.` });
        }
        break;
      }
      case 'boolean':
        if (typeof value !== 'boolean') problems.push({ field: field.name, message: `${field.label} must be yes or no.` });
        break;
      case 'link':
      case 'handle':
      case 'string': {
        if (typeof value !== 'string') {
          problems.push({ field: field.name, message: `${field.label} must be text.` });
          break;
        }
        const problem = stringProblem(field, value);
        if (problem) problems.push({ field: field.name, message: problem });
        break;
      }
      default:
        break;
    }
  }
  return problems;
}

/** Settings with `field` set from a form input's text (empty text removes an optional value). */
export function withInput(settings: Settings, field: Field, input: string | boolean, locale?: string): Settings {
  const next: Settings = { ...settings };
  if (field.translatable) {
    const texts = { ...((settings[field.name] as Record<string, string> | undefined) ?? {}) };
    if (typeof input === 'string' && input !== '') texts[locale!] = input;
    else delete texts[locale!];
    if (Object.keys(texts).length || field.required) next[field.name] = texts;
    else delete next[field.name];
    return next;
  }
  if (field.kind === 'boolean') {
    next[field.name] = !!input;
    return next;
  }
  const text = String(input);
  if (text.trim() === '') {
    delete next[field.name];
    return next;
  }
  switch (field.kind) {
    case 'image':
      next[field.name] = /^https?:\/\//i.test(text.trim()) ? { url: text.trim() } : { key: text.trim() };
      break;
    case 'number': {
      const n = Number(text);
      next[field.name] = Number.isFinite(n) ? n : text;
      break;
    }
    case 'enum': {
      const option = field.options!.find((o) => String(o) === text);
      next[field.name] = option ?? text;
      break;
    }
    case 'json':
      try {
        next[field.name] = JSON.parse(text);
      } catch {
        next[field.name] = text;
      }
      break;
    default:
      next[field.name] = text;
  }
  return next;
}

/** The text a form input shows for `field` of `settings`. */
export function inputValue(settings: Settings, field: Field, locale?: string): string {
  const value = settings[field.name];
  if (value === undefined || value === null) return '';
  if (field.translatable) return str((value as Record<string, unknown>)[locale!]) ?? '';
  if (field.kind === 'image') {
    const image = value as Record<string, unknown>;
    return str(image.url) ?? str(image.key) ?? '';
  }
  if (field.kind === 'json') return typeof value === 'string' ? value : JSON.stringify(value);
  return String(value);
}
