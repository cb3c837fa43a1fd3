import { describe, expect, it } from 'vitest';

import { COMMON_TRIGGERS, parseJson, skeleton, TRIGGER_PATTERN } from '~/utils/workflows';

describe('skeleton', () => {
  it('fills the required properties of an object schema', () => {
    expect(skeleton({
      type: 'object',
      required: ['url', 'secret', 'status'],
      properties: {
        url: { type: 'string' }, secret: { type: 'string' }, timeout_ms: { type: 'integer', minimum: 100 },
        status: { enum: ['processing', 'shipped'] },
      },
    })).toEqual({ url: '', secret: '', status: 'processing' });
  });
  it('takes defaults, consts, the first of oneOf and nested objects', () => {
    expect(skeleton({ type: 'object', required: ['t'], properties: { t: { oneOf: [{ const: 'order_confirmation' }, { type: 'string' }] } } }))
      .toEqual({ t: 'order_confirmation' });
    expect(skeleton({ type: 'integer', default: 5 })).toBe(5);
    expect(skeleton({ type: ['null', 'boolean'] })).toBe(false);
    expect(skeleton(undefined)).toEqual({});
    expect(skeleton({ type: 'object' })).toEqual({});
  });
});

describe('parseJson', () => {
  it('takes objects and arrays, empty text as empty', () => {
    expect(parseJson('{"a":1}', 'Config', 'object')).toEqual({ value: { a: 1 } });
    expect(parseJson(' ', 'Conditions', 'array')).toEqual({ value: [] });
  });
  it('names what is wrong', () => {
    expect(parseJson('[1]', 'Config of step 1', 'object').error).toBe('Config of step 1 must be a JSON object.');
    expect(parseJson('{', 'Conditions', 'array').error).toMatch(/^Conditions is not JSON/);
  });
});

describe('triggers', () => {
  it('suggests only triggers of the shape Kassa takes', () => {
    const re = new RegExp(`^(?:${TRIGGER_PATTERN})$`);
    for (const t of COMMON_TRIGGERS) expect(t).toMatch(re);
    expect('event.order.placed').not.toMatch(re);
    expect('Order.Placed').not.toMatch(re);
  });
});
