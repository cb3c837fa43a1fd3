import { describe, expect, it } from 'vitest';

import {
  addBlock, addSection, duplicate, find, itemAtPointer, locate, move, moveTo, neighbourAfterRemoval, newId, normalize,
  remove, setSettings, type PageDocument,
} from '~/utils/editor/pageDocument';

const page = (): PageDocument => normalize({
  layout: 'landing',
  sections: [
    { id: 'hero', type: 'hero', settings: { heading: { en: 'Hi' } } },
    { id: 'cols', type: 'columns', settings: {}, blocks: [
      { id: 'a', type: 'rich-text', settings: { body: { en: '<p>A</p>' } } },
      { id: 'b', type: 'image', settings: { image: { url: 'https://x.example/b.png' } } },
    ] },
    { id: 'grid', type: 'product-grid', settings: { count: 4 } },
  ],
});
const order = (doc: PageDocument) => doc.sections.map((s) => s.id);

describe('the page tree', () => {
  it('adds a section at the end or at a position, with an id no other item has', () => {
    const doc = page();
    const { doc: added, id } = addSection(doc, 'hero', { heading: {} });
    expect(id).toBe('hero-2');
    expect(order(added)).toEqual(['hero', 'cols', 'grid', 'hero-2']);
    const { doc: first } = addSection(added, 'call-to-action', {}, 0);
    expect(order(first)).toEqual(['call-to-action', 'hero', 'cols', 'grid', 'hero-2']);
    expect(order(doc)).toEqual(['hero', 'cols', 'grid']); // the input is left as it was
  });

  it('adds a block to a section, and refuses a block for something that is no section', () => {
    const { doc, id } = addBlock(page(), 'cols', 'call-to-action', { url: '/' }, 1);
    expect(doc.sections[1]!.blocks!.map((b) => b.id)).toEqual(['a', id, 'b']);
    expect(() => addBlock(page(), 'a', 'image', {})).toThrow();
    const empty = addSection(normalize({ layout: 'default', sections: [] }), 'columns', {});
    expect(addBlock(empty.doc, empty.id, 'image', {}).doc.sections[0]!.blocks).toHaveLength(1);
  });

  it('reorders sections and blocks among their siblings, clamped at the ends', () => {
    expect(order(move(page(), 'grid', -1))).toEqual(['hero', 'grid', 'cols']);
    expect(order(moveTo(page(), 'hero', 2))).toEqual(['cols', 'grid', 'hero']);
    expect(order(moveTo(page(), 'hero', 99))).toEqual(['cols', 'grid', 'hero']);
    expect(order(move(page(), 'hero', -1))).toEqual(['hero', 'cols', 'grid']);
    const blocks = move(page(), 'a', 1).sections[1]!.blocks!.map((b) => b.id);
    expect(blocks).toEqual(['b', 'a']);
    const unchanged = page();
    expect(moveTo(unchanged, 'cols', 1)).toBe(unchanged);
  });

  it('duplicates a section with its blocks, every copy with a new id, right after the original', () => {
    const { doc, id } = duplicate(page(), 'cols');
    expect(order(doc)).toEqual(['hero', 'cols', id, 'grid']);
    const copy = find(doc, id)!;
    const ids = [...doc.sections.flatMap((s) => [s.id, ...(s.blocks ?? []).map((b) => b.id)])];
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.sections[2]!.blocks!.map((b) => b.type)).toEqual(['rich-text', 'image']);
    expect(copy.settings).toEqual({});
    // A copy's settings are its own.
    const changed = setSettings(doc, doc.sections[2]!.blocks![0]!.id, { body: { en: 'changed' } });
    expect(find(changed, 'a')!.settings).toEqual({ body: { en: '<p>A</p>' } });
  });

  it('duplicates a block within its section', () => {
    const { doc, id } = duplicate(page(), 'b');
    expect(doc.sections[1]!.blocks!.map((b) => b.id)).toEqual(['a', 'b', id]);
    expect(find(doc, id)!.settings).toEqual({ image: { url: 'https://x.example/b.png' } });
  });

  it('removes a section with its blocks, or one block, and says where the selection goes', () => {
    expect(order(remove(page(), 'cols'))).toEqual(['hero', 'grid']);
    expect(find(remove(page(), 'cols'), 'a')).toBeUndefined();
    expect(remove(page(), 'a').sections[1]!.blocks!.map((b) => b.id)).toEqual(['b']);
    expect(neighbourAfterRemoval(page(), 'cols')).toBe('grid');
    expect(neighbourAfterRemoval(page(), 'grid')).toBe('cols');
    expect(neighbourAfterRemoval(page(), 'b')).toBe('a');
    const lone = remove(page(), 'a');
    expect(neighbourAfterRemoval(lone, 'b')).toBe('cols');
  });

  it('finds items and maps the API’s JSON Pointers to an item and its setting', () => {
    expect(locate(page(), 'b')).toEqual({ section: 1, block: 1 });
    expect(itemAtPointer(page(), '/sections/2/settings/count')).toEqual({ id: 'grid', field: 'count', rest: '/settings/count' });
    expect(itemAtPointer(page(), '/sections/1/blocks/0/settings/body/en')?.id).toBe('a');
    expect(itemAtPointer(page(), '/sections/9/settings')).toBeUndefined();
    expect(itemAtPointer(page(), '/layout')).toBeUndefined();
  });

  it('makes ids the page schema accepts from any type name', () => {
    expect(newId(page(), 'my type!')).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(newId(page(), 'grid')).toBe('grid-2');
  });
});
