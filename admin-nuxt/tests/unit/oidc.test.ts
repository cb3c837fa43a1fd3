import { describe, expect, it } from 'vitest';

import { parseAttributes, formatAttributes } from '~/utils/attributes';
import { decodeJwtPayload, handleFromDomain, rolesByOrg, scopesFor } from '~/utils/oidc';

const PROJECT = '310000000000000010';

function jwt(payload: unknown): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64url');
  return `${b64('{"alg":"RS256"}')}.${b64(JSON.stringify(payload))}.sig`;
}

describe('Zitadel tokens', () => {
  it('asks for the roles, Kassa\'s project in aud, and a refresh token', () => {
    expect(scopesFor(PROJECT).split(' ')).toEqual([
      'openid', 'profile', 'email', 'offline_access', 'urn:zitadel:iam:org:projects:roles', `urn:zitadel:iam:org:project:id:${PROJECT}:aud`,
    ]);
  });

  it('reads roles per organisation from the project-specific claim', () => {
    const claims = decodeJwtPayload(jwt({
      sub: '1',
      name: 'Zoë',
      [`urn:zitadel:iam:org:project:${PROJECT}:roles`]: {
        editor: { '310000000000000002': 'demo.zitadel.localhost' },
        viewer: { '310000000000000003': 'other.zitadel.localhost' },
        owner: { '310000000000000002': 'demo.zitadel.localhost' },
      },
    }));
    expect(claims.name).toBe('Zoë');
    expect(rolesByOrg(claims, PROJECT)).toEqual([
      { orgId: '310000000000000002', domain: 'demo.zitadel.localhost', roles: ['editor', 'owner'] },
      { orgId: '310000000000000003', domain: 'other.zitadel.localhost', roles: ['viewer'] },
    ]);
  });

  it('ignores the generic role claim, which may carry another project\'s roles', () => {
    const claims = { 'urn:zitadel:iam:org:project:roles': { owner: { '1': 'x' } } };
    expect(rolesByOrg(claims, PROJECT)).toEqual([]);
  });

  it('guesses a shop handle from an organisation\'s primary domain, and nothing from a domain that cannot be one', () => {
    expect(handleFromDomain('demo.zitadel.localhost')).toBe('demo');
    expect(handleFromDomain('Acme-Shop.zitadel.cloud')).toBe('acme-shop');
    expect(handleFromDomain('')).toBeUndefined();
    expect(handleFromDomain('-bad.example')).toBeUndefined();
    expect(handleFromDomain('under_score.example')).toBeUndefined();
  });

  it('refuses what is not a JWT', () => {
    expect(() => decodeJwtPayload('opaque')).toThrow();
  });
});

describe('variant attributes as text', () => {
  it('parses names and typed values', () => {
    expect(parseAttributes('color=blue, size=M, weight=1.5, organic=true')).toEqual({ ok: true, value: { color: 'blue', size: 'M', weight: 1.5, organic: true } });
    expect(parseAttributes('')).toEqual({ ok: true, value: {} });
    expect(parseAttributes('color')).toMatchObject({ ok: false });
    expect(parseAttributes('color=')).toMatchObject({ ok: false });
  });

  it('formats what it parses', () => {
    expect(formatAttributes({ color: 'blue', size: 42 })).toBe('color=blue, size=42');
  });
});
