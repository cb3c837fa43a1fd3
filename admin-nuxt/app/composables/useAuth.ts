// Staff sign-in state. Tokens live in this module's memory only — never in localStorage or
// sessionStorage; a reload signs in again through Zitadel's session (no password asked
// while that session lives). Only the PKCE verifier, state and nonce of a sign-in in
// progress wait in sessionStorage for the redirect back, and are removed on return.
import { reactive, readonly } from 'vue';

import {
  authorizationUrl, decodeJwtPayload, discover, endSessionUrl, redeemCode, refresh, rolesByOrg,
  type OidcSettings, type OrgRoles, type PendingSignIn, type TokenSet,
} from '~/utils/oidc';

const PENDING_KEY = 'kassa.admin.signin';
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 60_000;

interface AuthState {
  signedIn: boolean;
  userId?: string;
  name?: string;
  login?: string;
  orgs: OrgRoles[];
  expiresAt?: number;
}

const state = reactive<AuthState>({ signedIn: false, orgs: [] });
let tokens: TokenSet | undefined;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<boolean> | undefined;

function settings(): OidcSettings {
  const config = useRuntimeConfig().public;
  const origin = window.location.origin;
  return {
    issuer: String(config.zitadelIssuer).replace(/\/$/, ''),
    clientId: String(config.zitadelClientId),
    projectId: String(config.zitadelProjectId),
    redirectUri: `${origin}/auth/callback`,
    postLogoutRedirectUri: `${origin}/`,
  };
}

function adopt(next: TokenSet): void {
  tokens = next;
  const claims = decodeJwtPayload(next.accessToken);
  const idClaims = next.idToken ? decodeJwtPayload(next.idToken) : {};
  state.signedIn = true;
  state.userId = typeof claims.sub === 'string' ? claims.sub : undefined;
  state.name = typeof idClaims.name === 'string' ? idClaims.name : undefined;
  state.login = typeof idClaims.preferred_username === 'string' ? idClaims.preferred_username : undefined;
  state.orgs = rolesByOrg(claims, settings().projectId);
  state.expiresAt = next.expiresAt;
  scheduleRefresh();
}

function forget(): void {
  tokens = undefined;
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = undefined;
  Object.assign(state, { signedIn: false, userId: undefined, name: undefined, login: undefined, orgs: [], expiresAt: undefined });
}

function scheduleRefresh(): void {
  if (refreshTimer) clearTimeout(refreshTimer);
  if (!tokens?.refreshToken) return;
  const wait = Math.max(0, tokens.expiresAt - Date.now() - REFRESH_MARGIN_MS);
  refreshTimer = setTimeout(() => void refreshTokens(), wait);
}

/** Silent refresh with the refresh token; one at a time. Resolves false when signed out. */
function refreshTokens(): Promise<boolean> {
  if (!tokens?.refreshToken) return Promise.resolve(false);
  refreshing ??= (async () => {
    try {
      const current = tokens;
      if (!current) return false;
      adopt(await refresh(await discover(settings().issuer), settings(), current));
      return true;
    } catch {
      forget();
      return false;
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

/** Starts the sign-in: to Zitadel's authorize endpoint and back to `returnTo`. */
async function signIn(returnTo = '/'): Promise<void> {
  const s = settings();
  const { url, pending } = await authorizationUrl(await discover(s.issuer), s, returnTo);
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  window.location.assign(url);
}

/** Finishes the sign-in on /auth/callback; returns where to go. */
async function completeSignIn(callbackUrl: URL): Promise<string> {
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (!raw) throw new Error('No sign-in was started in this tab.');
  const pending = JSON.parse(raw) as PendingSignIn;
  const s = settings();
  adopt(await redeemCode(await discover(s.issuer), s, callbackUrl, pending));
  return pending.returnTo.startsWith('/') && !pending.returnTo.startsWith('//') ? pending.returnTo : '/';
}

/** Ends the Zitadel session too (end_session), then comes back to the admin's start page. */
async function signOut(): Promise<void> {
  const s = settings();
  const idToken = tokens?.idToken;
  forget();
  const url = endSessionUrl(await discover(s.issuer), s, idToken);
  window.location.assign(url ?? '/');
}

/** The access token for an API call, refreshed first when it is about to expire. */
async function accessToken(): Promise<string | undefined> {
  if (tokens && tokens.expiresAt - Date.now() < 10_000) await refreshTokens();
  return tokens?.accessToken;
}

export function useAuth() {
  return {
    state: readonly(state),
    signIn,
    completeSignIn,
    signOut,
    accessToken,
    refreshTokens,
  };
}
