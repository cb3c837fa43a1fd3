// The visual page editor's data: a page, its draft document (the section/block tree), the
// shop's block types with forms generated from their JSON Schemas, the problems those schemas
// find, and saving (If-Match on the page's version), publishing, revisions and restore.
import type { components } from '~/api/schema';
import { ApiError, ifMatch, unwrap, versionFromEtag } from '~/utils/api';
import {
  itemAtPointer, locate, normalize, type BlockNode, type PageDocument,
} from '~/utils/editor/pageDocument';
import { formFields, validateSettings, type Field, type FieldProblem, type JsonSchema } from '~/utils/editor/schemaForm';

type Page = components['schemas']['Page'];
type BlockType = components['schemas']['BlockType'];
type RevisionSummary = components['schemas']['RevisionSummary'];

export interface ItemProblem extends FieldProblem {
  id: string;
}

export function usePageEditor(pageId: () => string) {
  const api = useApi();
  const shop = useShop();

  const page = ref<Page>();
  const doc = ref<PageDocument>({ layout: 'default', sections: [] });
  const saved = ref('');
  const version = ref(0);
  const types = ref<BlockType[]>([]);
  const defs = ref<Record<string, JsonSchema>>({});
  const locales = ref<string[]>(['en']);
  const defaultLocale = ref('en');
  const loadError = ref<string>();
  const busy = ref<'saving' | 'publishing' | 'restoring' | undefined>();
  const error = ref<ApiError>();
  const conflict = ref(false);
  const notice = ref<string>();
  const serverProblems = ref<ItemProblem[]>([]);
  const revisions = ref<RevisionSummary[]>();

  const canWrite = computed(() => shop.can('content:write'));
  const dirty = computed(() => JSON.stringify(doc.value) !== saved.value);

  const typeByName = computed(() => new Map(types.value.map((t) => [t.name, t])));
  const fieldsByType = computed(() => {
    const map = new Map<string, Field[]>();
    for (const t of types.value) map.set(t.name, formFields(t.settings_schema as JsonSchema, defs.value));
    return map;
  });
  const fieldsOf = (type: string): Field[] => fieldsByType.value.get(type) ?? [];
  const labelOf = (type: string): string => typeByName.value.get(type)?.label ?? type;
  const sectionTypes = computed(() => types.value.filter((t) => t.section));
  const blockTypesFor = (sectionType: string) => types.value.filter((t) => t.blocks_in.includes(sectionType));

  /** What the schemas find wrong, item by item. */
  const problems = computed<ItemProblem[]>(() => {
    const all: ItemProblem[] = [];
    const check = (item: BlockNode) => {
      if (!typeByName.value.has(item.type)) {
        all.push({ id: item.id, field: '', message: `The shop has no block type “${item.type}”.` });
        return;
      }
      for (const p of validateSettings(item.settings, fieldsOf(item.type), locales.value, defaultLocale.value)) all.push({ ...p, id: item.id });
    };
    for (const section of doc.value.sections) {
      check(section);
      for (const block of section.blocks ?? []) check(block);
    }
    return all;
  });

  function adopt(document: unknown, etag: string | null): void {
    doc.value = normalize(document);
    saved.value = JSON.stringify(doc.value);
    version.value = versionFromEtag(etag) ?? version.value;
  }

  async function fetchDraft(): Promise<{ document: unknown; etag: string | null }> {
    const result = await api.GET('/management/pages/{id}/draft', { params: { path: { id: pageId() } } });
    return { document: unwrap(result), etag: result.response.headers.get('etag') };
  }

  async function load(): Promise<void> {
    loadError.value = undefined;
    try {
      const [profile, pageResult, typeList, schema, draft] = await Promise.all([
        useShopProfile(),
        api.GET('/management/pages/{id}', { params: { path: { id: pageId() } } }).then(unwrap),
        api.GET('/management/block-types').then(unwrap),
        api.GET('/management/schemas/page.json').then(unwrap),
        fetchDraft(),
      ]);
      locales.value = [profile.default_locale, ...profile.locales.filter((l) => l !== profile.default_locale)];
      defaultLocale.value = profile.default_locale;
      page.value = pageResult;
      types.value = typeList.items;
      defs.value = ((schema as Record<string, unknown>).$defs ?? {}) as Record<string, JsonSchema>;
      adopt(draft.document, draft.etag);
    } catch (e) {
      loadError.value = e instanceof ApiError && e.status === 404 ? 'This page does not exist in this shop.' : e instanceof Error ? e.message : String(e);
    }
  }

  function failed(e: unknown): void {
    serverProblems.value = [];
    if (e instanceof ApiError && e.isConflict) {
      conflict.value = true;
      return;
    }
    const apiError = e instanceof ApiError ? e : new ApiError(0, { detail: String(e) });
    error.value = apiError;
    // 422: every violation has a pointer into the document; put it on its item and field.
    for (const fieldError of apiError.errors) {
      const at = itemAtPointer(doc.value, fieldError.pointer);
      if (at) serverProblems.value.push({ id: at.id, field: at.field ?? '', message: fieldError.message });
    }
  }

  function clearMessages(): void {
    error.value = undefined;
    notice.value = undefined;
    serverProblems.value = [];
  }

  /** Saves the draft on the version it was loaded at; `overwrite` saves it over whatever is there now. */
  async function save(overwrite = false): Promise<boolean> {
    clearMessages();
    if (problems.value.length) {
      error.value = new ApiError(0, { detail: `${problems.value.length === 1 ? 'One setting needs' : `${problems.value.length} settings need`} attention before the draft can be saved.` });
      return false;
    }
    busy.value = 'saving';
    try {
      if (overwrite) version.value = versionFromEtag((await fetchDraft()).etag) ?? version.value;
      const result = await api.PUT('/management/pages/{id}/draft', {
        params: { path: { id: pageId() } },
        headers: { 'If-Match': ifMatch(version.value) },
        body: doc.value as never,
      });
      const stored = unwrap(result);
      const etag = result.response.headers.get('etag');
      // Keep the tree as it is (selection, order); take what Kassa stored (safe rich text).
      adopt(stored, etag);
      if (page.value) page.value = { ...page.value, version: version.value };
      conflict.value = false;
      notice.value = 'Draft saved.';
      return true;
    } catch (e) {
      failed(e);
      return false;
    } finally {
      busy.value = undefined;
    }
  }

  async function publish(): Promise<void> {
    if (dirty.value && !(await save())) return;
    clearMessages();
    busy.value = 'publishing';
    try {
      const result = await api.POST('/management/pages/{id}/publish', { params: { path: { id: pageId() } } });
      page.value = unwrap(result);
      version.value = page.value.version;
      notice.value = `Published as revision ${page.value.published_revision}.`;
      if (revisions.value) await loadRevisions();
    } catch (e) {
      failed(e);
    } finally {
      busy.value = undefined;
    }
  }

  async function reloadLatest(): Promise<void> {
    conflict.value = false;
    clearMessages();
    await load();
  }

  async function loadRevisions(): Promise<void> {
    try {
      revisions.value = unwrap(await api.GET('/management/pages/{id}/revisions', { params: { path: { id: pageId() } } })).items;
    } catch (e) {
      failed(e);
    }
  }

  /** Copies revision `number` into the draft (unsaved changes are replaced). */
  async function restore(number: number): Promise<void> {
    clearMessages();
    busy.value = 'restoring';
    try {
      page.value = unwrap(await api.POST('/management/pages/{id}/revisions/{number}/restore', {
        params: { path: { id: pageId(), number: String(number) } },
        body: { publish: false },
      }));
      const draft = await fetchDraft();
      adopt(draft.document, draft.etag);
      notice.value = `Revision ${number} is the draft now; publish it to show it in the shop.`;
    } catch (e) {
      failed(e);
    } finally {
      busy.value = undefined;
    }
  }

  /** Saves the page's own fields (handle, title, SEO texts) as a merge patch on its version. */
  async function saveDetails(patch: Record<string, unknown>): Promise<boolean> {
    clearMessages();
    try {
      page.value = unwrap(await api.PATCH('/management/pages/{id}', {
        params: { path: { id: pageId() } },
        headers: { 'If-Match': ifMatch(version.value) },
        body: patch as never,
      }));
      version.value = page.value.version;
      notice.value = 'Page details saved.';
      return true;
    } catch (e) {
      failed(e);
      return false;
    }
  }

  /** Publishes the draft (as it will be then) at `at`, or cancels the schedule (`null`). */
  async function schedule(at: Date | null): Promise<void> {
    if (at && dirty.value && !(await save())) return;
    clearMessages();
    try {
      page.value = unwrap(await api.POST('/management/pages/{id}/schedule', {
        params: { path: { id: pageId() } },
        body: { at: at ? at.toISOString() : null },
      }));
      version.value = page.value.version;
      notice.value = at ? 'Publishing is scheduled.' : 'The schedule is canceled.';
    } catch (e) {
      failed(e);
    }
  }

  /** Whether the item `id` is in the document (after edits). */
  const has = (id: string | undefined) => !!id && !!locate(doc.value, id);

  return {
    page, doc, version, types, defs, locales, defaultLocale, loadError, busy, error, conflict, notice,
    problems, serverProblems, revisions, canWrite, dirty, sectionTypes,
    fieldsOf, labelOf, blockTypesFor, has,
    load, save, publish, reloadLatest, loadRevisions, restore, clearMessages, saveDetails, schedule,
  };
}
