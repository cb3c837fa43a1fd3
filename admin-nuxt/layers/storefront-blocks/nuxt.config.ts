import { fileURLToPath } from 'node:url';

// Kassa's storefront blocks as a Nuxt layer: `<RenderSection :data="section" />` renders one
// section of a page as GET /storefront/pages/{handle} answers it. A shop's own Nuxt storefront
// adds it with `extends: ['<path to>/layers/storefront-blocks']` (the admin does the same for
// its preview and demo storefront). Components only: no runtime config, plugins or styles
// beyond the components' own scoped CSS (no CSS framework, no fonts fetched).
export default defineNuxtConfig({
  components: {
    dirs: [{ path: fileURLToPath(new URL('./app/components', import.meta.url)), pathPrefix: false, extensions: ['vue'] }],
  },
});
