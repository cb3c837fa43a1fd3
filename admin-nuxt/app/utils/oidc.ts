// The OpenID Connect side of staff sign-in with Zitadel: authorization code + PKCE for a
// public client (no secret), refresh, end session. Protocol details are oauth4webapi's;
// what is Kassa's (scopes, role claims) is here.
import * as oauth from 'oauth4webapi';

import { codeChallengeS256, createCodeVerifier, randomToken } from './pkce';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  projectId: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
}

/** Tokens as the token endpoint returned them, with the access token's expiry as a time. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/** What must survive the redirect to Zitadel and back (never a token). */
export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
}

/**
 * The scopes Zitadel needs to put Kassa's roles and project into the access token, and a
 * refresh token (`offline_access`).
 */
export function scopesFor(projectId: string): string {
  return [
    'openid',
    'profile',
    'email',
    'offline_access',
    'urn:zitadel:iam:org:projects:roles',
    `urn:zitadel:iam:org:project:id:${projectId}:aud`,
  ].join(' ');
}

function isLoopback(url: URL): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

/** oauth4webapi refuses plain http; the local stand-in on a loopback address is allowed. */
function requestOptions(issuer: URL): { [oauth.allowInsecureRequests]?: boolean } {
  return issuer.protocol === 'http:' && isLoopback(issuer) ? { [oauth.allowInsecureRequests]: true } : {};
}

const discovered = new Map<string, Promise<oauth.AuthorizationServer>>();

export function discover(issuer: string): Promise<oauth.AuthorizationServer> {
  let found = discovered.get(issuer);
  if (!found) {
    const url = new URL(issuer);
    found = oauth
      .discoveryRequest(url, { algorithm: 'oidc', ...requestOptions(url) })
      .then((response) => oauth.processDiscoveryResponse(url, response));
    found.catch(() => discovered.delete(issuer));
    discovered.set(issuer, found);
  }
  return found;
}

export async function authorizationUrl(
  as: oauth.AuthorizationServer,
  settings: OidcSettings,
  returnTo: string,
  prompt?: string,
): Promise<{ url: URL; pending: PendingSignIn }> {
  if (!as.authorization_endpoint) throw new Error('the issuer has no authorization endpoint');
  const pending: PendingSignIn = { state: randomToken(), nonce: randomToken(), codeVerifier: createCodeVerifier(), returnTo };
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', settings.clientId);
  url.searchParams.set('redirect_uri', settings.redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', scopesFor(settings.projectId));
  url.searchParams.set('state', pending.state);
  url.searchParams.set('nonce', pending.nonce);
  url.searchParams.set('code_challenge', await codeChallengeS256(pending.codeVerifier));
  url.searchParams.set('code_challenge_method', 'S256');
  if (prompt) url.searchParams.set('prompt', prompt);
  return { url, pending };
}

function client(settings: OidcSettings): oauth.Client {
  return { client_id: settings.clientId, token_endpoint_auth_method: 'none' };
}

function toTokenSet(response: oauth.TokenEndpointResponse, previous?: TokenSet): TokenSet {
  return {
    accessToken: response.access_token,
    // A rotated refresh token replaces the old one; without a new one the old one stays.
    refreshToken: response.refresh_token ?? previous?.refreshToken,
    idToken: response.id_token ?? previous?.idToken,
    expiresAt: Date.now() + (response.expires_in ?? 300) * 1000,
  };
}

/** Checks the callback (state, errors) and redeems the code with the PKCE verifier. */
export async function redeemCode(
  as: oauth.AuthorizationServer,
  settings: OidcSettings,
  callbackUrl: URL,
  pending: PendingSignIn,
): Promise<TokenSet> {
  const params = oauth.validateAuthResponse(as, client(settings), callbackUrl, pending.state);
  const options = requestOptions(new URL(as.issuer));
  const response = await oauth.authorizationCodeGrantRequest(
    as, client(settings), oauth.None(), params, settings.redirectUri, pending.codeVerifier, options,
  );
  const result = await oauth.processAuthorizationCodeResponse(as, client(settings), response, {
    expectedNonce: pending.nonce,
    requireIdToken: true,
  });
  return toTokenSet(result);
}

export async function refresh(as: oauth.AuthorizationServer, settings: OidcSettings, tokens: TokenSet): Promise<TokenSet> {
  if (!tokens.refreshToken) throw new Error('no refresh token');
  const response = await oauth.refreshTokenGrantRequest(
    as, client(settings), oauth.None(), tokens.refreshToken, requestOptions(new URL(as.issuer)),
  );
  return toTokenSet(await oauth.processRefreshTokenResponse(as, client(settings), response), tokens);
}

/** Zitadel's end_session URL: ends the Zitadel session and comes back to the admin. */
export function endSessionUrl(as: oauth.AuthorizationServer, settings: OidcSettings, idToken?: string): URL | undefined {
  if (!as.end_session_endpoint) return undefined;
  const url = new URL(as.end_session_endpoint);
  if (idToken) url.searchParams.set('id_token_hint', idToken);
  url.searchParams.set('client_id', settings.clientId);
  url.searchParams.set('post_logout_redirect_uri', settings.postLogoutRedirectUri);
  return url;
}

/** The payload of a JWT, unverified: the UI reads roles from it, the API checks them. */
export function decodeJwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (!part) throw new Error('not a JWT');
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
  const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

/** An organisation in which the token holds roles in Kassa's project. */
export interface OrgRoles {
  orgId: string;
  /** The organisation's primary domain, as Zitadel puts it in the role claim. */
  domain: string;
  roles: string[];
}

/**
 * Kassa's roles by organisation, from the project-specific claim only (the generic one
 * carries whichever project's roles the token was asked for).
 */
export function rolesByOrg(claims: Record<string, unknown>, projectId: string): OrgRoles[] {
  const claim = claims[`urn:zitadel:iam:org:project:${projectId}:roles`];
  if (!claim || typeof claim !== 'object') return [];
  const orgs = new Map<string, OrgRoles>();
  for (const [role, grants] of Object.entries(claim as Record<string, unknown>)) {
    if (!grants || typeof grants !== 'object') continue;
    for (const [orgId, domain] of Object.entries(grants as Record<string, unknown>)) {
      const entry = orgs.get(orgId) ?? { orgId, domain: typeof domain === 'string' ? domain : '', roles: [] };
      entry.roles.push(role);
      orgs.set(orgId, entry);
    }
  }
  return [...orgs.values()];
}

/** A shop handle guessed from an organisation's primary domain ("demo.zitadel.example" → "demo"). */
export function handleFromDomain(domain: string): string | undefined {
  const label = domain.split('.')[0]?.toLowerCase();
  return label && /^[a-z0-9]+(-[a-z0-9]+)*$/.test(label) && label.length <= 100 ? label : undefined;
}
