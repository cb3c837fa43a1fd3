// The shops the signed-in user works for, the one they are working in, and what their roles
// there permit. Kassa has no "my shops" route: the candidates are the configured shops and
// the shops named after the organisations in the token's role claim (Zitadel puts each
// organisation's primary domain there), each confirmed by GET /management/me. The API stays
// the authority on every call; the UI only hides what would be refused.
import { computed, reactive, readonly } from 'vue';

import { unwrap } from '~/utils/api';
import { handleFromDomain } from '~/utils/oidc';

const LAST_SHOP_KEY = 'kassa.admin.shop';

export interface ShopAccess {
  id: string;
  handle: string;
  name: string;
  roles: string[];
  actions: string[];
}

const state = reactive<{ shops: ShopAccess[]; current?: string; loaded: boolean; error?: string }>({
  shops: [],
  loaded: false,
});

async function probe(handle: string): Promise<ShopAccess | undefined> {
  const result = await useApi().GET('/management/me', { headers: { 'X-Tenant-ID': handle } });
  if (!result.response.ok) return undefined;
  const me = unwrap(result);
  return { id: me.tenant.id, handle: me.tenant.handle, name: me.tenant.name, roles: [...me.roles], actions: [...me.actions] };
}

async function loadShops(): Promise<void> {
  const auth = useAuth();
  const configured = String(useRuntimeConfig().public.shops ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const fromToken = auth.state.orgs.flatMap((o) => handleFromDomain(o.domain) ?? []);
  const last = localStorage.getItem(LAST_SHOP_KEY);
  const candidates = [...new Set([...(last ? [last] : []), ...fromToken, ...configured])];
  const found = (await Promise.all(candidates.map((h) => probe(h).catch(() => undefined)))).filter(
    (s): s is ShopAccess => !!s,
  );
  const unique = [...new Map(found.map((s) => [s.id, s])).values()].sort((a, b) => a.name.localeCompare(b.name));
  state.shops = unique;
  state.loaded = true;
  state.error = unique.length ? undefined : 'You hold no role in any shop this admin knows.';
  const keep = unique.find((s) => s.handle === state.current) ?? unique.find((s) => s.handle === last) ?? unique[0];
  select(keep?.handle);
}

function select(handle: string | undefined): void {
  state.current = handle;
  setApiTenant(handle);
  if (handle) localStorage.setItem(LAST_SHOP_KEY, handle);
}

/** Adds a shop by handle (for shops the admin could not guess); true when the user works there. */
async function addShop(handle: string): Promise<boolean> {
  const shop = await probe(handle.trim().toLowerCase()).catch(() => undefined);
  if (!shop) return false;
  if (!state.shops.some((s) => s.id === shop.id)) state.shops.push(shop);
  select(shop.handle);
  return true;
}

const current = computed(() => state.shops.find((s) => s.handle === state.current));

export function useShop() {
  return {
    state: readonly(state),
    current,
    loadShops,
    select,
    addShop,
    /** Whether the user's roles in the current shop permit `action` (e.g. `catalog:write`). */
    can: (action: string) => current.value?.actions.includes(action) ?? false,
  };
}

type ShopProfile = { default_locale: string; locales: string[]; default_currency: string };
const profiles = new Map<string, Promise<ShopProfile>>();

/** The current shop's locales and currency (GET /storefront/tenant), once per shop. */
export function useShopProfile(): Promise<ShopProfile> {
  const handle = state.current ?? '';
  let profile = profiles.get(handle);
  if (!profile) {
    profile = useStorefrontApi()
      .GET('/storefront/tenant', { headers: { 'X-Tenant-ID': handle } })
      .then((r) => unwrap(r));
    profile.catch(() => profiles.delete(handle));
    profiles.set(handle, profile);
  }
  return profile;
}
