// A section or block as GET /storefront/pages/{handle} answers it (Kassa's RenderedSection /
// RenderedBlock): settings with every text in the request's locale, images with a `url`, and
// for product blocks `data` filled by Kassa ({products: [...]} or {product: ... | null}).
import type { Component } from 'vue';

export interface RenderedBlock {
  id: string;
  type: string;
  settings: Record<string, unknown>;
  data?: unknown;
}

export interface RenderedSection extends RenderedBlock {
  blocks?: RenderedBlock[];
}

/** A product in a storefront list (Kassa's ShopProductSummary). */
export interface ProductSummary {
  id: string;
  handle: string;
  title: string;
  in_stock: boolean;
  thumbnail?: string | null;
  price_from?: { amount: number; currency: string } | null;
}

/** Components by block type: the built-ins, plus or instead of them a shop's own. */
export type BlockComponents = Record<string, Component>;

/** What every block component receives. */
export interface BlockProps {
  settings: Record<string, unknown>;
  data?: unknown;
  type: string;
  locale?: string;
  blocks?: RenderedBlock[];
  components?: BlockComponents;
  /** Where a product's page is (default /products/{handle}). */
  productHref?: (handle: string) => string;
}

export function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export function imageUrl(value: unknown): string | undefined {
  const url = value && typeof value === 'object' ? (value as { url?: unknown }).url : undefined;
  return typeof url === 'string' && url ? url : undefined;
}

/** Minor units → a price in the shop's currency ("€19.99"), for any currency exponent. */
export function formatPrice(price: { amount: number; currency: string } | null | undefined, locale = 'en'): string {
  if (!price) return '';
  try {
    const format = new Intl.NumberFormat(locale, { style: 'currency', currency: price.currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(price.amount / 10 ** digits);
  } catch {
    return `${price.amount} ${price.currency}`;
  }
}
