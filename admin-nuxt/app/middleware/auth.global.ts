// Every screen but the sign-in callback needs a signed-in user and their shops.
export default defineNuxtRouteMiddleware(async (to) => {
  if (to.meta.public) return;
  const auth = useAuth();
  if (!auth.state.signedIn) {
    await auth.signIn(to.fullPath);
    return abortNavigation();
  }
  const shop = useShop();
  if (!shop.state.loaded) await shop.loadShops();
});
