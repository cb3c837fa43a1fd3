// Workflow editing helpers: a step's config as JSON text, seeded from its type's schema.

export type JsonSchema = Record<string, unknown>;

/** Event types a workflow is commonly started by (any `<aggregate>.<what>` is taken). */
export const COMMON_TRIGGERS = [
  'order.placed', 'order.status_changed', 'order.refunded', 'order.payment_failed', 'order.needs_attention',
  'order.taxes_calculated', 'customer.created', 'product.created', 'product.updated', 'stock.adjusted',
];

/** The trigger's shape Kassa takes: `<aggregate>.<what>` in lower snake case (1–50 each). */
export const TRIGGER_PATTERN = '[a-z][a-z0-9_]{0,49}\\.[a-z][a-z0-9_]{0,49}';

/** A value of the schema to start from: its default, const, first enum value, or an empty one of its type. */
export function skeleton(schema: JsonSchema | undefined): unknown {
  if (!schema) return {};
  if ('default' in schema) return schema.default;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const first = (['oneOf', 'anyOf'] as const).map((k) => schema[k]).find(Array.isArray) as JsonSchema[] | undefined;
  if (first?.length) return skeleton(first[0]);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
      return Object.fromEntries(required.map((name) => [name, skeleton(properties[name])]));
    }
    case 'array': return [];
    case 'string': return '';
    case 'integer':
    case 'number': return typeof schema.minimum === 'number' ? schema.minimum : 0;
    case 'boolean': return false;
    default: return {};
  }
}

/** JSON text → a value of the given kind, or an error message naming `what`. */
export function parseJson(text: string, what: string, kind: 'object' | 'array'): { value?: unknown; error?: string } {
  if (text.trim() === '') return { value: kind === 'object' ? {} : [] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { error: `${what} is not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  const ok = kind === 'array' ? Array.isArray(value) : !!value && typeof value === 'object' && !Array.isArray(value);
  return ok ? { value } : { error: `${what} must be a JSON ${kind}.` };
}
