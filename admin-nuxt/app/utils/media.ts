// Product media helpers.
import type { components } from '~/api/schema';

export type UploadType = components['schemas']['UploadRequest']['content_type'];

/** What `POST /management/uploads` takes. */
export const UPLOAD_TYPES: UploadType[] = ['image/jpeg', 'image/png', 'image/webp', 'image/avif'];

/**
 * The shop's media base URL (ending in `/`), learnt from the storefront's image URLs, which are
 * `{MEDIA_BASE_URL}/{key}`: the prefix of the first URL that ends in one of the keys.
 */
export function mediaBaseFrom(urls: string[], keys: string[]): string | undefined {
  for (const url of urls) {
    for (const key of keys) {
      if (key && url.endsWith(`/${key}`) && url.length > key.length + 1) return url.slice(0, url.length - key.length);
    }
  }
  return undefined;
}
