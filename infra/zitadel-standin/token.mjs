// Prints an access token for a demo user as its last line, by driving the stand-in's real
// authorization code + PKCE flow (authorize → sign in → code → token), as a browser would.
//
//   node token.mjs editor@demo [issuer]      (ISSUER, default http://127.0.0.1:9011)
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const seed = JSON.parse(fs.readFileSync(path.join(here, 'seed.json'), 'utf8'));
const login = process.argv[2] ?? process.env.USER_LOGIN;
const issuer = (process.argv[3] ?? process.env.ISSUER ?? 'http://127.0.0.1:9011').replace(/\/$/, '');
if (!login || !seed.users[login]) {
  console.error(`usage: node token.mjs <login> [issuer]; logins: ${Object.keys(seed.users).join(', ')}`);
  process.exit(2);
}

const CLIENT_ID = 'kassa-cli';
const REDIRECT_URI = 'http://127.0.0.1/callback';
const cookies = new Map();

// One request with the cookie jar; redirects are followed by hand so the code can be read.
async function call(url, init = {}) {
  const headers = { ...init.headers, cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  const res = await fetch(new URL(url, issuer), { ...init, headers, redirect: 'manual' });
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair.indexOf('=');
    cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return res;
}

function fail(step, res, body) {
  console.error(`token: ${step} failed with HTTP ${res.status}: ${body ?? ''}`);
  process.exit(1);
}

const verifier = crypto.randomBytes(32).toString('base64url');
const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
const authorize = new URL('/oauth/v2/authorize', issuer);
authorize.search = new URLSearchParams({
  client_id: CLIENT_ID, response_type: 'code', redirect_uri: REDIRECT_URI,
  scope: 'openid profile email urn:zitadel:iam:org:projects:roles',
  code_challenge: challenge, code_challenge_method: 'S256', state: crypto.randomUUID(),
}).toString();

let res = await call(authorize);
let location = res.headers.get('location');
if (!location?.includes('/ui/login/')) fail('authorize', res, await res.text());

res = await call(location, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ login, password: seed.password }).toString(),
});
location = res.headers.get('location');
if (!location) fail('sign-in', res, await res.text());

// Resume the authorization (and any further interaction) until the client's redirect.
for (let hops = 0; !location.startsWith(REDIRECT_URI); hops += 1) {
  if (hops > 5) fail('authorize redirects', res);
  res = await call(location);
  location = res.headers.get('location');
  if (!location) fail('resume', res, await res.text());
}
const code = new URL(location).searchParams.get('code');
if (!code) fail('authorization code', res, location);

res = await call('/oauth/v2/token', {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, code_verifier: verifier,
  }).toString(),
});
const body = await res.json();
if (!res.ok || !body.access_token) fail('token', res, JSON.stringify(body));
console.log(body.access_token);
