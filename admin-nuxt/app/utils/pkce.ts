// PKCE (RFC 7636) and the random values of an authorization request, on Web Crypto.

/** Base64url without padding (RFC 4648 §5), as PKCE and OAuth parameters use it. */
export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A random value of `byteLength` bytes, base64url-encoded (32 bytes: 43 characters). */
export function randomToken(byteLength = 32): string {
  const bytes = new Uint8Array(byteLength);
  crypto.getRandomValues(bytes);
  return base64url(bytes);
}

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** A code verifier: 43–128 unreserved characters (RFC 7636 §4.1). */
export function createCodeVerifier(): string {
  return randomToken(32);
}

export function isValidCodeVerifier(verifier: string): boolean {
  return VERIFIER.test(verifier);
}

/** The S256 code challenge of a verifier: BASE64URL(SHA256(ASCII(verifier))). */
export async function codeChallengeS256(verifier: string): Promise<string> {
  if (!isValidCodeVerifier(verifier)) throw new Error('a code verifier is 43–128 unreserved characters');
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}
