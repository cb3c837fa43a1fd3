import { describe, expect, it } from 'vitest';

import { base64url, codeChallengeS256, createCodeVerifier, isValidCodeVerifier, randomToken } from '~/utils/pkce';

describe('PKCE', () => {
  it('derives the S256 challenge of RFC 7636 appendix B', async () => {
    expect(await codeChallengeS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('makes verifiers of 43 unreserved characters that differ every time', () => {
    const a = createCodeVerifier();
    const b = createCodeVerifier();
    expect(a).toMatch(/^[A-Za-z0-9\-_]{43}$/);
    expect(isValidCodeVerifier(a)).toBe(true);
    expect(a).not.toBe(b);
  });

  it('refuses to hash a verifier that is too short or has reserved characters', async () => {
    await expect(codeChallengeS256('short')).rejects.toThrow();
    await expect(codeChallengeS256(`${'a'.repeat(43)}+`)).rejects.toThrow();
  });

  it('encodes base64url without padding', () => {
    expect(base64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    expect(randomToken(16)).toMatch(/^[A-Za-z0-9\-_]{22}$/);
  });
});
