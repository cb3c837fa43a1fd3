import { describe, expect, it } from 'vitest';

import { mediaBaseFrom, UPLOAD_TYPES } from '~/utils/media';

describe('mediaBaseFrom', () => {
  const key = 'tenants/0190/uploads/abc.png';
  it('takes the prefix of the URL that ends in a key', () => {
    expect(mediaBaseFrom(['https://cdn.example/x.jpg', `http://127.0.0.1:4566/kassa-media/${key}`], ['other', key]))
      .toBe('http://127.0.0.1:4566/kassa-media/');
  });
  it('knows nothing when no URL ends in a key (external images only)', () => {
    expect(mediaBaseFrom(['https://cdn.example/x.jpg'], [key, ''])).toBeUndefined();
    expect(mediaBaseFrom([], [key])).toBeUndefined();
  });
  it('does not match a key that is only a suffix of a longer name', () => {
    expect(mediaBaseFrom(['https://cdn.example/prefix-abc.png'], ['abc.png'])).toBeUndefined();
  });
  it('offers the types Kassa takes', () => {
    expect(UPLOAD_TYPES).toEqual(['image/jpeg', 'image/png', 'image/webp', 'image/avif']);
  });
});
