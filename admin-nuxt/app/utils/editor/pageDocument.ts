// A page document (`{layout, sections: [{id, type, settings, blocks: [{id, type, settings}]}]}`,
// validated by the shop's /management/schemas/page.json) and the visual editor's operations on
// its section/block tree. Every operation returns a new document and leaves its input as it was,
// so the editor can compare against the saved draft and undo is a matter of keeping the old one.

export type Settings = Record<string, unknown>;

export interface BlockNode {
  id: string;
  type: string;
  settings: Settings;
}

export interface SectionNode extends BlockNode {
  blocks?: BlockNode[];
}

export interface PageDocument {
  layout: string;
  sections: SectionNode[];
}

/** Where an item sits: a section (`block` undefined) or a block of a section. */
export interface Location {
  section: number;
  block?: number;
}

/** Limits of the page schema (MAX_SECTIONS, MAX_BLOCKS). */
export const MAX_SECTIONS = 50;
export const MAX_BLOCKS = 50;

/** A document as the API answers it, made safe to edit (missing arrays become empty ones). */
export function normalize(raw: unknown): PageDocument {
  const doc = (raw && typeof raw === 'object' ? raw : {}) as Partial<PageDocument>;
  return {
    layout: typeof doc.layout === 'string' ? doc.layout : 'default',
    sections: Array.isArray(doc.sections)
      ? doc.sections.map((s) => ({
          id: String(s.id),
          type: String(s.type),
          settings: s.settings && typeof s.settings === 'object' ? { ...s.settings } : {},
          ...(Array.isArray(s.blocks)
            ? { blocks: s.blocks.map((b) => ({ id: String(b.id), type: String(b.type), settings: { ...(b.settings ?? {}) } })) }
            : {}),
        }))
      : [],
  };
}

/** A deep copy (documents are JSON; Vue's reactive proxies cannot be structured-cloned). */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Every id in the document (sections and blocks). */
export function ids(doc: PageDocument): Set<string> {
  const all = new Set<string>();
  for (const section of doc.sections) {
    all.add(section.id);
    for (const block of section.blocks ?? []) all.add(block.id);
  }
  return all;
}

/** A new id for an item of `type` that no item of `doc` has (`hero`, `hero-2`, …), within the schema's pattern. */
export function newId(doc: PageDocument, type: string): string {
  const taken = ids(doc);
  const base = type.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 50) || 'item';
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base}-${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** Where the item with `id` is, if anywhere. */
export function locate(doc: PageDocument, id: string): Location | undefined {
  for (let s = 0; s < doc.sections.length; s++) {
    const section = doc.sections[s]!;
    if (section.id === id) return { section: s };
    const b = (section.blocks ?? []).findIndex((block) => block.id === id);
    if (b >= 0) return { section: s, block: b };
  }
  return undefined;
}

/** The item with `id`. */
export function find(doc: PageDocument, id: string): BlockNode | undefined {
  const at = locate(doc, id);
  if (!at) return undefined;
  const section = doc.sections[at.section]!;
  return at.block === undefined ? section : section.blocks![at.block];
}

/** The JSON Pointer of an item's settings (`/sections/1/blocks/0/settings`), as the API's 422s name them. */
export function settingsPointer(at: Location): string {
  return at.block === undefined ? `/sections/${at.section}/settings` : `/sections/${at.section}/blocks/${at.block}/settings`;
}

/** The item a JSON Pointer into the document points into, and the rest of the pointer after its settings. */
export function itemAtPointer(doc: PageDocument, pointer: string): { id: string; field?: string; rest: string } | undefined {
  const match = /^\/sections\/(\d+)(?:\/blocks\/(\d+))?(\/.*)?$/.exec(pointer);
  if (!match) return undefined;
  const section = doc.sections[Number(match[1])];
  if (!section) return undefined;
  const item = match[2] === undefined ? section : section.blocks?.[Number(match[2])];
  if (!item) return undefined;
  const rest = match[3] ?? '';
  const field = /^\/settings\/([^/]+)/.exec(rest)?.[1]?.replace(/~1/g, '/').replace(/~0/g, '~');
  return { id: item.id, field, rest };
}

/** Adds a section of `type` at `index` (default: the end). */
export function addSection(doc: PageDocument, type: string, settings: Settings, index = doc.sections.length): { doc: PageDocument; id: string } {
  if (doc.sections.length >= MAX_SECTIONS) throw new RangeError(`a page has at most ${MAX_SECTIONS} sections`);
  const next = clone(doc);
  const id = newId(doc, type);
  next.sections.splice(Math.max(0, Math.min(index, next.sections.length)), 0, { id, type, settings: clone(settings) });
  return { doc: next, id };
}

/** Adds a block of `type` to the section `sectionId` at `index` (default: the end). */
export function addBlock(doc: PageDocument, sectionId: string, type: string, settings: Settings, index?: number): { doc: PageDocument; id: string } {
  const at = locate(doc, sectionId);
  if (!at || at.block !== undefined) throw new Error(`no section ${sectionId}`);
  const next = clone(doc);
  const section = next.sections[at.section]!;
  const blocks = (section.blocks ??= []);
  if (blocks.length >= MAX_BLOCKS) throw new RangeError(`a section has at most ${MAX_BLOCKS} blocks`);
  const id = newId(doc, type);
  blocks.splice(Math.max(0, Math.min(index ?? blocks.length, blocks.length)), 0, { id, type, settings: clone(settings) });
  return { doc: next, id };
}

/** Moves the item `id` to position `to` among its siblings (clamped); unchanged when it is already there. */
export function moveTo(doc: PageDocument, id: string, to: number): PageDocument {
  const at = locate(doc, id);
  if (!at) return doc;
  const next = clone(doc);
  const list: BlockNode[] = at.block === undefined ? next.sections : next.sections[at.section]!.blocks!;
  const from = at.block ?? at.section;
  const target = Math.max(0, Math.min(to, list.length - 1));
  if (target === from) return doc;
  const [item] = list.splice(from, 1);
  list.splice(target, 0, item!);
  return next;
}

/** Moves the item `id` by `delta` places among its siblings (-1: up, 1: down). */
export function move(doc: PageDocument, id: string, delta: number): PageDocument {
  const at = locate(doc, id);
  if (!at) return doc;
  return moveTo(doc, id, (at.block ?? at.section) + delta);
}

/** Copies the item `id` (a section with its blocks) right after it, every copy with a new id. */
export function duplicate(doc: PageDocument, id: string): { doc: PageDocument; id: string } {
  const at = locate(doc, id);
  if (!at) throw new Error(`no item ${id}`);
  const next = clone(doc);
  const taken = ids(doc);
  const fresh = (type: string): string => {
    const made = newId({ layout: '', sections: [...taken].map((t) => ({ id: t, type: '', settings: {} })) }, type);
    taken.add(made);
    return made;
  };
  if (at.block === undefined) {
    if (doc.sections.length >= MAX_SECTIONS) throw new RangeError(`a page has at most ${MAX_SECTIONS} sections`);
    const original = next.sections[at.section]!;
    const copy: SectionNode = { ...clone(original), id: fresh(original.type) };
    if (copy.blocks) copy.blocks = copy.blocks.map((b) => ({ ...b, id: fresh(b.type) }));
    next.sections.splice(at.section + 1, 0, copy);
    return { doc: next, id: copy.id };
  }
  const blocks = next.sections[at.section]!.blocks!;
  if (blocks.length >= MAX_BLOCKS) throw new RangeError(`a section has at most ${MAX_BLOCKS} blocks`);
  const original = blocks[at.block]!;
  const copy: BlockNode = { ...clone(original), id: fresh(original.type) };
  blocks.splice(at.block + 1, 0, copy);
  return { doc: next, id: copy.id };
}

/** Removes the item `id` (a section with its blocks). */
export function remove(doc: PageDocument, id: string): PageDocument {
  const at = locate(doc, id);
  if (!at) return doc;
  const next = clone(doc);
  if (at.block === undefined) next.sections.splice(at.section, 1);
  else next.sections[at.section]!.blocks!.splice(at.block, 1);
  return next;
}

/** Replaces the settings of the item `id`. */
export function setSettings(doc: PageDocument, id: string, settings: Settings): PageDocument {
  const at = locate(doc, id);
  if (!at) return doc;
  const next = clone(doc);
  const section = next.sections[at.section]!;
  const item = at.block === undefined ? section : section.blocks![at.block]!;
  item.settings = clone(settings);
  return next;
}

/** The id the selection should move to when `id` is removed: the next sibling, else the previous, else the parent. */
export function neighbourAfterRemoval(doc: PageDocument, id: string): string | undefined {
  const at = locate(doc, id);
  if (!at) return undefined;
  if (at.block === undefined) return (doc.sections[at.section + 1] ?? doc.sections[at.section - 1])?.id;
  const section = doc.sections[at.section]!;
  const blocks = section.blocks ?? [];
  return (blocks[at.block + 1] ?? blocks[at.block - 1])?.id ?? section.id;
}
