// The transport under the generated management API client: the staff token, the shop
// (X-Tenant-ID), one retry after a refresh on 401, and RFC 9457 problems as errors.

/** A problem document's field error (a JSON Pointer into the request body). */
export interface FieldError {
  pointer: string;
  code: string;
  message: string;
}

/** An error answer of the API: its status, stable `code` and field errors. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly errors: FieldError[];
  readonly requestId?: string;

  constructor(status: number, body: unknown) {
    const problem = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const detail = typeof problem.detail === 'string' ? problem.detail : undefined;
    const title = typeof problem.title === 'string' ? problem.title : undefined;
    super(detail ?? title ?? `the API answered ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = typeof problem.code === 'string' ? problem.code : `http_${status}`;
    this.errors = Array.isArray(problem.errors)
      ? problem.errors.filter((e): e is FieldError => !!e && typeof e === 'object' && 'pointer' in e)
      : [];
    this.requestId = typeof problem.request_id === 'string' ? problem.request_id : undefined;
  }

  /** `412 version_conflict`: someone else saved first. */
  get isConflict(): boolean {
    return this.status === 412 || this.code === 'version_conflict';
  }

  /** The message of the field error at `pointer` (e.g. `/handle`), if any. */
  fieldError(pointer: string): string | undefined {
    return this.errors.find((e) => e.pointer === pointer)?.message;
  }
}

export interface TransportOptions {
  /** The current access token (refreshed first when it is about to expire). */
  getToken: () => Promise<string | undefined>;
  /** Refreshes the token after a 401; resolves false when that is impossible. */
  refresh: () => Promise<boolean>;
  /** The shop's handle, sent as X-Tenant-ID. */
  getTenant: () => string | undefined;
  fetch?: typeof fetch;
}

/**
 * A `fetch` for openapi-fetch: adds `Authorization` and `X-Tenant-ID`; on a 401 it refreshes
 * the token once and sends the request again.
 */
export function createTransport(options: TransportOptions): (input: Request) => Promise<Response> {
  const send = options.fetch ?? globalThis.fetch.bind(globalThis);
  const prepare = async (request: Request, tenantOverride?: string): Promise<Request> => {
    const headers = new Headers(request.headers);
    const token = await options.getToken();
    if (token) headers.set('Authorization', `Bearer ${token}`);
    const tenant = headers.get('X-Tenant-ID') ?? tenantOverride ?? options.getTenant();
    if (tenant) headers.set('X-Tenant-ID', tenant);
    return new Request(request, { headers });
  };
  return async (input: Request) => {
    const retry = input.clone();
    const response = await send(await prepare(input));
    if (response.status !== 401) return response;
    if (!(await options.refresh())) return response;
    return send(await prepare(retry));
  };
}

/** The strong ETag's version (`"7"` → `7`). */
export function versionFromEtag(etag: string | null | undefined): number | undefined {
  const match = /^"(\d+)"$/.exec(etag ?? '');
  return match ? Number(match[1]) : undefined;
}

/** The `If-Match` header for a version. */
export function ifMatch(version: number): string {
  return `"${version}"`;
}

/** Unwraps an openapi-fetch result: the data, or an ApiError from the problem document. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.data !== undefined) return result.data;
  if (result.response.ok && result.response.status === 204) return undefined as T;
  throw new ApiError(result.response.status, result.error);
}

/** Minor units → a localized amount (EUR 1999 → "€19.99"); currencies with other exponents too. */
export function formatMoney(amount: number, currency: string, locale = 'en'): string {
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amount / 10 ** digits);
}

/** A decimal text in major units → minor units, exactly ("19.99" EUR → 1999); undefined if invalid. */
export function parseMoney(text: string, currency: string): number | undefined {
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  const match = /^\s*(\d+)(?:[.,](\d*))?\s*$/.exec(text);
  if (!match) return undefined;
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return undefined;
  return Number(match[1]) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
}
