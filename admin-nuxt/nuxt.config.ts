import tailwindcss from '@tailwindcss/vite';

// The admin is a single-page app: tokens live in the browser's memory only, so nothing is
// rendered on the server. `nuxt build` still emits .output/server/index.mjs, which serves
// the built app (infra/scripts/admin.sh serve).
export default defineNuxtConfig({
  // <RenderSection> and the storefront block components: the same layer a shop's own Nuxt
  // storefront extends (the page editor's preview and the demo storefront use it).
  extends: ['./layers/storefront-blocks'],
  compatibilityDate: '2026-01-01',
  ssr: false,
  devtools: { enabled: false },
  telemetry: false,
  css: ['~/assets/css/main.css'],
  vite: {
    plugins: [tailwindcss()],
  },
  typescript: {
    strict: true,
    typeCheck: false,
  },
  app: {
    head: {
      htmlAttrs: { lang: 'en' },
      title: 'Kassa admin',
      meta: [{ name: 'viewport', content: 'width=device-width, initial-scale=1' }],
    },
  },
  runtimeConfig: {
    public: {
      // NUXT_PUBLIC_API_BASE, NUXT_PUBLIC_ZITADEL_ISSUER, … override these at run time.
      apiBase: 'http://127.0.0.1:8080',
      zitadelIssuer: 'http://127.0.0.1:9011',
      zitadelClientId: 'kassa-admin',
      zitadelProjectId: '310000000000000010',
      // Shops offered in the switcher besides those guessed from the token (comma-separated handles).
      shops: 'demo',
    },
  },
  nitro: {
    // No server routes: the built server only serves the app's files.
    routeRules: {
      '/**': { headers: { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' } },
    },
  },
});
