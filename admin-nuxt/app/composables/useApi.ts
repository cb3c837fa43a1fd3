// The typed management API client (types generated from /management/openapi.json), bound to
// the signed-in user's token and the current shop.
import createClient from 'openapi-fetch';

import type { paths } from '~/api/schema';
import type { paths as storefrontPaths } from '~/api/storefront';
import { createTransport } from '~/utils/api';

let client: ReturnType<typeof createClient<paths>> | undefined;
let tenant: string | undefined;

/** The shop (its handle) every call is sent to, as X-Tenant-ID. */
export function setApiTenant(handle: string | undefined): void {
  tenant = handle;
}

export function useApi() {
  if (!client) {
    const auth = useAuth();
    client = createClient<paths>({
      baseUrl: String(useRuntimeConfig().public.apiBase).replace(/\/$/, ''),
      fetch: createTransport({
        getToken: auth.accessToken,
        refresh: async () => {
          if (await auth.refreshTokens()) return true;
          // The session is over (refresh token expired or revoked): sign in again, back here.
          void auth.signIn(window.location.pathname + window.location.search);
          return false;
        },
        getTenant: () => tenant,
      }),
    });
  }
  return client;
}

let storefront: ReturnType<typeof createClient<storefrontPaths>> | undefined;

/** The public storefront API (typed from /storefront/openapi.json), for the shop's profile. */
export function useStorefrontApi() {
  storefront ??= createClient<storefrontPaths>({
    baseUrl: String(useRuntimeConfig().public.apiBase).replace(/\/$/, ''),
  });
  return storefront;
}
