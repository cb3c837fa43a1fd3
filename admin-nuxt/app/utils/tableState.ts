// The state of a data table (search, sort, filters, page, visible columns) and its two
// representations: the page's URL query (so back/forward and shared links work) and the
// API's list query (keyset pages: `limit` + opaque `cursor`).

export type SortOrder = 'asc' | 'desc';

export interface FilterSpec {
  key: string;
  label: string;
  options: { value: string; label: string }[];
}

export interface ColumnSpec {
  key: string;
  label: string;
  /** Shown unless the user hides it. */
  visible?: boolean;
  /** The API's sort key for this column, if the API sorts by it. */
  sortKey?: string;
  /** Always shown (the column chooser cannot hide it). */
  required?: boolean;
}

export interface TableSpec {
  columns: ColumnSpec[];
  filters?: FilterSpec[];
  searchable?: boolean;
  defaultSort?: string;
  defaultOrder?: SortOrder;
  pageSizes?: number[];
}

export interface TableState {
  q: string;
  sort?: string;
  order: SortOrder;
  filters: Record<string, string>;
  cursor?: string;
  limit: number;
  /** Visible column keys, in the spec's order. */
  columns: string[];
}

export const DEFAULT_PAGE_SIZES = [25, 50, 100];

type QueryValue = string | null | undefined | (string | null)[];
export type RouteQuery = Record<string, QueryValue>;

function first(value: QueryValue): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v ?? undefined;
}

function sortKeys(spec: TableSpec): string[] {
  return spec.columns.flatMap((c) => (c.sortKey ? [c.sortKey] : []));
}

function defaultColumns(spec: TableSpec): string[] {
  return spec.columns.filter((c) => c.required || c.visible !== false).map((c) => c.key);
}

function pageSizes(spec: TableSpec): number[] {
  return spec.pageSizes ?? DEFAULT_PAGE_SIZES;
}

export function defaultState(spec: TableSpec): TableState {
  return {
    q: '',
    sort: spec.defaultSort,
    order: spec.defaultOrder ?? 'asc',
    filters: {},
    limit: pageSizes(spec)[0] ?? 25,
    columns: defaultColumns(spec),
  };
}

/** Reads a table's state from the URL query; anything unknown or invalid falls back to the default. */
export function parseTableQuery(query: RouteQuery, spec: TableSpec): TableState {
  const state = defaultState(spec);
  const q = first(query.q);
  if (spec.searchable && q) state.q = q.slice(0, 100);
  const sort = first(query.sort);
  if (sort && sortKeys(spec).includes(sort)) state.sort = sort;
  const order = first(query.order);
  if (order === 'asc' || order === 'desc') state.order = order;
  for (const filter of spec.filters ?? []) {
    const value = first(query[filter.key]);
    if (value && filter.options.some((o) => o.value === value)) state.filters[filter.key] = value;
  }
  const cursor = first(query.cursor);
  if (cursor) state.cursor = cursor;
  const limit = Number(first(query.limit));
  if (pageSizes(spec).includes(limit)) state.limit = limit;
  const cols = first(query.cols);
  if (cols !== undefined) {
    const wanted = new Set(cols.split(',').filter(Boolean));
    state.columns = spec.columns.filter((c) => c.required || wanted.has(c.key)).map((c) => c.key);
  }
  return state;
}

/** The URL query of a state: only what differs from the default, so links stay short. */
export function toRouteQuery(state: TableState, spec: TableSpec): Record<string, string> {
  const base = defaultState(spec);
  const query: Record<string, string> = {};
  if (state.q) query.q = state.q;
  if (state.sort && state.sort !== base.sort) query.sort = state.sort;
  if (state.order !== base.order) query.order = state.order;
  for (const filter of spec.filters ?? []) {
    const value = state.filters[filter.key];
    if (value) query[filter.key] = value;
  }
  if (state.limit !== base.limit) query.limit = String(state.limit);
  if (state.columns.join(',') !== base.columns.join(',')) query.cols = state.columns.join(',');
  if (state.cursor) query.cursor = state.cursor;
  return query;
}

/** The API's list query for a state. */
export function toApiQuery(state: TableState, spec: TableSpec): Record<string, string | number> {
  const query: Record<string, string | number> = { limit: state.limit };
  if (state.cursor) query.cursor = state.cursor;
  if (spec.searchable && state.q) query.q = state.q;
  if (sortKeys(spec).length) {
    if (state.sort) query.sort = state.sort;
    query.order = state.order;
  }
  for (const [key, value] of Object.entries(state.filters)) query[key] = value;
  return query;
}

/**
 * A changed state. A new search, sort, filter or page size starts again at the first page
 * (a cursor belongs to its list and sort); a change of columns keeps the page.
 */
export function changeState(state: TableState, change: Partial<Omit<TableState, 'cursor'>>): TableState {
  const keepsPage = Object.keys(change).every((k) => k === 'columns');
  const next: TableState = { ...state, ...change, filters: { ...(change.filters ?? state.filters) } };
  if (!keepsPage) delete next.cursor;
  return next;
}

/** Clicking a sortable column: ascending first, then descending. */
export function toggleSort(state: TableState, sortKey: string): TableState {
  const order: SortOrder = state.sort === sortKey && state.order === 'asc' ? 'desc' : 'asc';
  return changeState(state, { sort: sortKey, order });
}

export function withCursor(state: TableState, cursor: string | undefined): TableState {
  const next = { ...state, filters: { ...state.filters } };
  if (cursor) next.cursor = cursor;
  else delete next.cursor;
  return next;
}
