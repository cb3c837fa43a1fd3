import createClient from 'openapi-fetch';
import { describe, expect, it } from 'vitest';

import { ApiError, createTransport, formatMoney, ifMatch, parseMoney, unwrap, versionFromEtag } from '~/utils/api';

interface Seen { url: string; auth: string | null; tenant: string | null; ifMatch: string | null; body: string }

function recorder(answers: Response[]) {
  const seen: Seen[] = [];
  const fetch = async (request: Request) => {
    seen.push({
      url: request.url,
      auth: request.headers.get('authorization'),
      tenant: request.headers.get('x-tenant-id'),
      ifMatch: request.headers.get('if-match'),
      body: request.body ? await request.text() : '',
    });
    return answers.shift() ?? new Response('{}', { status: 500 });
  };
  return { seen, fetch: fetch as unknown as typeof globalThis.fetch };
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('the API transport', () => {
  it('sends the token and the shop with every call', async () => {
    const { seen, fetch } = recorder([json({ ok: true })]);
    const transport = createTransport({ getToken: async () => 't1', refresh: async () => false, getTenant: () => 'demo', fetch });
    await transport(new Request('http://api.test/management/me'));
    expect(seen).toEqual([{ url: 'http://api.test/management/me', auth: 'Bearer t1', tenant: 'demo', ifMatch: null, body: '' }]);
  });

  it('keeps a shop named on the request itself', async () => {
    const { seen, fetch } = recorder([json({})]);
    const transport = createTransport({ getToken: async () => 't', refresh: async () => false, getTenant: () => 'demo', fetch });
    await transport(new Request('http://api.test/x', { headers: { 'X-Tenant-ID': 'other' } }));
    expect(seen[0]!.tenant).toBe('other');
  });

  it('refreshes once after a 401 and repeats the request, body and all, with the new token', async () => {
    let token = 'old';
    const { seen, fetch } = recorder([json({ code: 'invalid_token' }, 401), json({ id: 1 }, 201)]);
    const transport = createTransport({
      getToken: async () => token,
      refresh: async () => { token = 'new'; return true; },
      getTenant: () => 'demo',
      fetch,
    });
    const response = await transport(new Request('http://api.test/p', { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } }));
    expect(response.status).toBe(201);
    expect(seen.map((s) => [s.auth, s.body])).toEqual([['Bearer old', '{"a":1}'], ['Bearer new', '{"a":1}']]);
  });

  it('gives the 401 back when the session cannot be refreshed', async () => {
    const { seen, fetch } = recorder([json({ code: 'invalid_token' }, 401)]);
    const transport = createTransport({ getToken: async () => 'x', refresh: async () => false, getTenant: () => undefined, fetch });
    expect((await transport(new Request('http://api.test/p'))).status).toBe(401);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.tenant).toBeNull();
  });

  it('works under openapi-fetch: If-Match goes out, a problem document becomes an ApiError', async () => {
    const problem = { type: 'about:blank', title: 'Precondition failed', status: 412, detail: 'the product changed', code: 'version_conflict', errors: [] };
    const { seen, fetch } = recorder([json(problem, 412, { 'content-type': 'application/problem+json' })]);
    const client = createClient<Record<string, never>>({
      baseUrl: 'http://api.test',
      fetch: createTransport({ getToken: async () => 't', refresh: async () => false, getTenant: () => 'demo', fetch }),
    });
    const result = await (client as unknown as { PATCH: (p: string, o: unknown) => Promise<{ data?: unknown; error?: unknown; response: Response }> })
      .PATCH('/management/products/1', { body: { handle: 'x' }, headers: { 'If-Match': ifMatch(3) } });
    expect(seen[0]!.ifMatch).toBe('"3"');
    expect(seen[0]!.body).toBe('{"handle":"x"}');
    let error: unknown;
    try { unwrap(result); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).isConflict).toBe(true);
    expect((error as ApiError).message).toBe('the product changed');
  });
});

describe('ApiError', () => {
  it('reads the code and field errors of a validation problem', () => {
    const e = new ApiError(422, { title: 'Invalid', code: 'validation_failed', errors: [{ pointer: '/handle', code: 'taken', message: 'already used' }], request_id: 'r1' });
    expect([e.status, e.code, e.requestId, e.fieldError('/handle'), e.fieldError('/sku'), e.isConflict]).toEqual([422, 'validation_failed', 'r1', 'already used', undefined, false]);
  });

  it('makes do without a problem body', () => {
    const e = new ApiError(502, undefined);
    expect([e.code, e.message]).toEqual(['http_502', 'the API answered 502']);
  });
});

describe('versions and money', () => {
  it('reads a strong ETag as a version', () => {
    expect(versionFromEtag('"12"')).toBe(12);
    expect(versionFromEtag('W/"12"')).toBeUndefined();
    expect(versionFromEtag(null)).toBeUndefined();
  });

  it('turns decimal text into minor units exactly, by the currency', () => {
    expect(parseMoney('19.99', 'EUR')).toBe(1999);
    expect(parseMoney('19,9', 'EUR')).toBe(1990);
    expect(parseMoney('7', 'EUR')).toBe(700);
    expect(parseMoney('0.29', 'EUR')).toBe(29);
    expect(parseMoney('1500', 'JPY')).toBe(1500);
    expect(parseMoney('1.5', 'JPY')).toBeUndefined();
    expect(parseMoney('1.999', 'EUR')).toBeUndefined();
    expect(parseMoney('-1', 'EUR')).toBeUndefined();
    expect(parseMoney('abc', 'EUR')).toBeUndefined();
  });

  it('formats minor units', () => {
    expect(formatMoney(1999, 'EUR')).toBe('€19.99');
    expect(formatMoney(1500, 'JPY')).toBe('¥1,500');
  });
});
