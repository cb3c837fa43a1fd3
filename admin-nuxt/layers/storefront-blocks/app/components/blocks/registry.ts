// The built-in block types (Kassa's shared/domain/src/pages/schema.rs builtins) → components.
import type { BlockComponents } from '../../types';
import KassaCallToAction from './KassaCallToAction.vue';
import KassaFeaturedProduct from './KassaFeaturedProduct.vue';
import KassaHero from './KassaHero.vue';
import KassaImage from './KassaImage.vue';
import KassaProductGrid from './KassaProductGrid.vue';
import KassaRichText from './KassaRichText.vue';

/** Types that may stand as blocks inside a section (columns) as well as sections. */
export const leafBlocks: BlockComponents = {
  hero: KassaHero,
  'rich-text': KassaRichText,
  image: KassaImage,
  'product-grid': KassaProductGrid,
  'featured-product': KassaFeaturedProduct,
  'call-to-action': KassaCallToAction,
};
