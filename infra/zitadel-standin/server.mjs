// A local stand-in for Zitadel (which cannot run here): a real OpenID Provider
// (oidc-provider) on Zitadel's paths, issuing RS256 JWT access tokens with Zitadel's claim
// shapes. Authorization code + PKCE for the admin UI; token.mjs drives the same flow for
// scripts. Users, orgs and roles come from seed.json.
//
//   node server.mjs            # http://127.0.0.1:9011 (PORT, ISSUER to change; ACCESS_TOKEN_TTL in seconds)
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider from 'oidc-provider';

const here = path.dirname(fileURLToPath(import.meta.url));
const seed = JSON.parse(fs.readFileSync(path.join(here, 'seed.json'), 'utf8'));
const PORT = Number(process.env.PORT ?? 9011);
const HOST = process.env.HOST ?? '127.0.0.1';
const ISSUER = (process.env.ISSUER ?? `http://${HOST}:${PORT}`).replace(/\/$/, '');
const PROJECT_ID = seed.project_id;
const RESOURCE = 'urn:kassa:api';
// Seconds an access token lives (default 1 hour; Zitadel's is set per application). The admin's
// end-to-end tests shorten it to see the silent refresh happen.
const ACCESS_TOKEN_TTL = Number(process.env.ACCESS_TOKEN_TTL ?? 60 * 60);
const ROLE_CLAIMS = ['urn:zitadel:iam:org:project:roles', `urn:zitadel:iam:org:project:${PROJECT_ID}:roles`];

const usersBySub = new Map(Object.entries(seed.users).map(([login, u]) => [u.sub, { login, ...u }]));

// Zitadel's role claim: { role: { orgId: orgPrimaryDomain } }.
function roleClaim(user) {
  const roles = {};
  for (const [role, orgs] of Object.entries(user.roles)) {
    roles[role] = Object.fromEntries(orgs.map((org) => [org, seed.orgs[org].domain]));
  }
  return roles;
}

function zitadelClaims(user) {
  const org = seed.orgs[user.org];
  const roles = roleClaim(user);
  return {
    'urn:zitadel:iam:user:resourceowner:id': user.org,
    'urn:zitadel:iam:user:resourceowner:name': org.name,
    'urn:zitadel:iam:user:resourceowner:primary_domain': org.domain,
    // Zitadel fills the generic claim with the roles of the project the token was asked
    // for and the project-specific one per project; `role_claims: "generic_only"` plays a
    // user whose roles belong to another project.
    ...Object.fromEntries(
      (user.role_claims === 'generic_only' ? ROLE_CLAIMS.slice(0, 1) : ROLE_CLAIMS).map((claim) => [claim, roles]),
    ),
  };
}

// A new signing key per start, as Zitadel rotates keys: Kassa must find it in the JWKS.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };

const provider = new Provider(ISSUER, {
  clients: seed.clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  routes: {
    authorization: '/oauth/v2/authorize',
    token: '/oauth/v2/token',
    jwks: '/oauth/v2/keys',
    introspection: '/oauth/v2/introspect',
    revocation: '/oauth/v2/revoke',
    userinfo: '/oidc/v1/userinfo',
    end_session: '/oidc/v1/end_session',
  },
  scopes: ['openid', 'profile', 'email', 'offline_access', 'urn:zitadel:iam:org:projects:roles',
    `urn:zitadel:iam:org:project:id:${PROJECT_ID}:aud`],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
  async findAccount(_ctx, sub) {
    const user = usersBySub.get(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, name: user.name, preferred_username: user.login, email: user.login, email_verified: true };
      },
    };
  },
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    revocation: { enabled: true },
    // Zitadel's end_session signs out and redirects to a registered post_logout_redirect_uri
    // without asking; oidc-provider asks by default, so the form submits itself here.
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.type = 'html';
        ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signing out · Kassa (Zitadel stand-in)</title></head>
<body>${form.replace('</form>', '<input type="hidden" name="logout" value="yes"><noscript><button type="submit">Sign out</button></noscript></form>')}
<p>Signing out…</p><script>document.getElementById('op.logoutForm').submit()</script></body></html>`;
      },
      async postLogoutSuccessSource(ctx) {
        ctx.type = 'html';
        ctx.body = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out · Kassa (Zitadel stand-in)</title></head><body><h1>Signed out</h1></body></html>';
      },
    },
    resourceIndicators: {
      enabled: true,
      // Every access token is for Kassa's API, like a Zitadel app with JWT access tokens.
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'openid profile email offline_access urn:zitadel:iam:org:projects:roles',
        audience: PROJECT_ID,
        accessTokenTTL: ACCESS_TOKEN_TTL,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  async extraTokenClaims(_ctx, token) {
    const user = token.kind === 'AccessToken' ? usersBySub.get(token.accountId) : undefined;
    return user ? zitadelClaims(user) : undefined;
  },
  interactions: { url: (_ctx, interaction) => `/ui/login/${interaction.uid}` },
  ttl: { Session: 8 * 60 * 60, Grant: 8 * 60 * 60, Interaction: 10 * 60, AuthorizationCode: 60, RefreshToken: 24 * 60 * 60 },
  renderError(ctx, out) {
    ctx.type = 'application/json';
    ctx.body = out;
  },
});
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, error) {
  const users = Object.keys(seed.users).map((login) => `<li><code>${escape(login)}</code></li>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · Kassa (Zitadel stand-in)</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}label{display:block;margin:.75rem 0 .25rem}
input{width:100%;padding:.5rem;box-sizing:border-box}button{margin-top:1rem;padding:.5rem 1rem}.error{color:#b00020}</style></head>
<body><h1>Sign in to Kassa</h1><p>Local Zitadel stand-in. Demo users (password <code>${escape(seed.password)}</code>):</p><ul>${users}</ul>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/ui/login/${escape(uid)}">
<label for="login">Login name</label><input id="login" name="login" autocomplete="username" autofocus required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

// Finishes an interaction for `sub`: signs in and grants what the client asked for
// (Zitadel asks no consent for first-party apps either).
async function finish(req, res, details, sub) {
  const { params } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: sub, clientId: params.client_id });
  grant.addOIDCScope(params.scope);
  grant.addResourceScope(RESOURCE, params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId: sub }, consent: { grantId } },
    { mergeWithLastSubmission: false });
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'consent' && details.session?.accountId) {
    return finish(req, res, details, details.session.accountId);
  }
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(loginPage(uid));
    return undefined;
  }
  const form = await readForm(req);
  const user = seed.users[form.get('login') ?? ''];
  if (!user || form.get('password') !== seed.password) {
    res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' }).end(loginPage(uid, 'Unknown login name or wrong password.'));
    return undefined;
  }
  return finish(req, res, details, user.sub);
}

// Zitadel issues a refresh token whenever an app with the refresh token grant asks for
// `offline_access`; oidc-provider (following OIDC Core) drops that scope unless the request
// also says prompt=consent. The stand-in adds the consent prompt, which its interaction
// grants without asking (as Zitadel asks no consent of first-party apps), so a client that
// speaks to Zitadel gets its refresh token here too.
function zitadelOfflineAccess(req) {
  if (req.method !== 'GET') return;
  const url = new URL(req.url, ISSUER);
  if (url.pathname !== '/oauth/v2/authorize') return;
  const scope = (url.searchParams.get('scope') ?? '').split(' ');
  const prompt = (url.searchParams.get('prompt') ?? '').split(' ').filter(Boolean);
  const client = seed.clients.find((c) => c.client_id === url.searchParams.get('client_id'));
  if (!scope.includes('offline_access') || !client?.grant_types?.includes('refresh_token')) return;
  if (prompt.includes('consent') || prompt.includes('none')) return;
  url.searchParams.set('prompt', [...prompt, 'consent'].join(' '));
  req.url = url.pathname + url.search;
}

const handle = provider.callback();
http.createServer((req, res) => {
  zitadelOfflineAccess(req);
  const match = /^\/ui\/login\/([\w-]+)$/.exec(new URL(req.url, ISSUER).pathname);
  if (match && (req.method === 'GET' || req.method === 'POST')) {
    interaction(req, res, match[1]).catch((err) => {
      res.writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'invalid_request', error_description: err.message }));
    });
    return;
  }
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  handle(req, res);
}).listen(PORT, HOST, () => {
  console.log(`Zitadel stand-in: issuer ${ISSUER} (project ${PROJECT_ID}); users: ${Object.keys(seed.users).join(', ')}`);
});
