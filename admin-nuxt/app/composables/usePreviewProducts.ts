// Product data for the live preview's product blocks, as Kassa fills them on the storefront:
// a product grid's products (GET /storefront/products with its collection, sort and count) and
// a featured product (GET /storefront/products/{handle}; `null` when it is not for sale). Looked
// up once per query and locale; a lookup that finishes re-renders the preview.
import type { components } from '~/api/storefront';
import { productQuery } from '~/utils/editor/previewRender';
import type { Settings } from '~/utils/editor/pageDocument';

type Summary = components['schemas']['ShopProductSummary'];

export function usePreviewProducts(locale: () => string) {
  const storefront = useStorefrontApi();
  const shop = useShop();
  const cache = reactive(new Map<string, unknown>());
  const pending = new Set<string>();

  async function lookUp(key: string, query: NonNullable<ReturnType<typeof productQuery>>): Promise<void> {
    const headers = { 'X-Tenant-ID': shop.state.current ?? '' };
    try {
      if (query.kind === 'grid' && query.collection && !query.sort) {
        // A grid of a collection without a sort of its own shows it in the collection's order.
        const result = await storefront.GET('/storefront/collections/{handle}', {
          headers,
          params: { path: { handle: query.collection }, query: { limit: query.limit, locale: locale() } },
        });
        cache.set(key, { products: result.response.ok && result.data ? result.data.products : [] });
      } else if (query.kind === 'grid') {
        const result = await storefront.GET('/storefront/products', {
          headers,
          params: { query: { limit: query.limit, collection: query.collection, sort: query.sort as never, locale: locale() } },
        });
        cache.set(key, { products: result.response.ok && result.data ? result.data.items : [] });
      } else {
        const result = query.handle
          ? await storefront.GET('/storefront/products/{handle}', { headers, params: { path: { handle: query.handle }, query: { locale: locale() } } })
          : undefined;
        const p = result?.response.ok ? result.data : undefined;
        const product: Summary | null = p
          ? { id: p.id, handle: p.handle, title: p.title, in_stock: p.in_stock, price_from: p.price_from, thumbnail: p.images[0]?.url ?? null }
          : null;
        cache.set(key, { product });
      }
    } catch {
      cache.set(key, query.kind === 'grid' ? { products: [] } : { product: null });
    } finally {
      pending.delete(key);
    }
  }

  /** The block's data when known (a lookup starts when it is not). */
  function data(type: string, settings: Settings): unknown {
    const query = productQuery(type, settings);
    if (!query) return undefined;
    const key = JSON.stringify([locale(), query]);
    if (cache.has(key)) return cache.get(key);
    if (!pending.has(key)) {
      pending.add(key);
      void lookUp(key, query);
    }
    return query.kind === 'grid' ? { products: [] } : { product: null };
  }

  return { data };
}
