import { describe, expect, it } from 'vitest';

import { changeState, parseTableQuery, toApiQuery, toRouteQuery, toggleSort, withCursor, type TableSpec } from '~/utils/tableState';

const spec: TableSpec = {
  searchable: true,
  defaultSort: 'created_at',
  columns: [
    { key: 'title', label: 'Title', sortKey: 'title', required: true },
    { key: 'handle', label: 'Handle', sortKey: 'handle' },
    { key: 'status', label: 'Status' },
    { key: 'tax_class', label: 'Tax class', visible: false },
    { key: 'created_at', label: 'Created', sortKey: 'created_at' },
  ],
  filters: [{ key: 'status', label: 'Status', options: [{ value: 'draft', label: 'Draft' }, { value: 'active', label: 'Active' }] }],
};

describe('data table state in the URL', () => {
  it('reads the defaults from an empty query and writes them back as an empty query', () => {
    const state = parseTableQuery({}, spec);
    expect(state).toEqual({ q: '', sort: 'created_at', order: 'asc', filters: {}, limit: 25, columns: ['title', 'handle', 'status', 'created_at'] });
    expect(toRouteQuery(state, spec)).toEqual({});
  });

  it('round-trips search, sort, filter, page size, columns and cursor', () => {
    const query = { q: 'mug', sort: 'title', order: 'desc', status: 'active', limit: '50', cols: 'title,tax_class', cursor: 'abc' };
    const state = parseTableQuery(query, spec);
    expect(state).toMatchObject({ q: 'mug', sort: 'title', order: 'desc', filters: { status: 'active' }, limit: 50, cursor: 'abc', columns: ['title', 'tax_class'] });
    expect(toRouteQuery(state, spec)).toEqual(query);
  });

  it('ignores what the list does not offer: unknown sort keys, filter values, page sizes and columns', () => {
    const state = parseTableQuery({ sort: 'price', order: 'sideways', status: 'deleted', limit: '1000', cols: 'nope', other: 'x' }, spec);
    expect(state.sort).toBe('created_at');
    expect(state.order).toBe('asc');
    expect(state.filters).toEqual({});
    expect(state.limit).toBe(25);
    expect(state.columns).toEqual(['title']); // required columns stay
  });

  it('takes the first value of a repeated parameter', () => {
    expect(parseTableQuery({ q: ['a', 'b'] }, spec).q).toBe('a');
  });

  it('starts again at the first page when the search, sort or filter changes, but not for columns', () => {
    const onPage2 = withCursor(parseTableQuery({}, spec), 'page2');
    expect(changeState(onPage2, { q: 'x' }).cursor).toBeUndefined();
    expect(changeState(onPage2, { filters: { status: 'draft' } }).cursor).toBeUndefined();
    expect(toggleSort(onPage2, 'title').cursor).toBeUndefined();
    expect(changeState(onPage2, { columns: ['title'] }).cursor).toBe('page2');
  });

  it('sorts ascending first, then descending', () => {
    const first = toggleSort(parseTableQuery({}, spec), 'title');
    expect([first.sort, first.order]).toEqual(['title', 'asc']);
    const second = toggleSort(first, 'title');
    expect([second.sort, second.order]).toEqual(['title', 'desc']);
  });

  it('asks the API for a keyset page with the list query', () => {
    const state = parseTableQuery({ q: 'mug', status: 'active', cursor: 'c1', sort: 'handle' }, spec);
    expect(toApiQuery(state, spec)).toEqual({ limit: 25, cursor: 'c1', q: 'mug', sort: 'handle', order: 'asc', status: 'active' });
  });

  it('sends no sort to a list the API does not sort, nor a search to one it does not search', () => {
    const plain: TableSpec = { columns: [{ key: 'number', label: 'Order' }] };
    expect(toApiQuery(parseTableQuery({ q: 'x', sort: 'number' }, plain), plain)).toEqual({ limit: 25 });
  });
});
