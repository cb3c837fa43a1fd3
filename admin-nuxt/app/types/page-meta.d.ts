declare module '#app' {
  interface PageMeta {
    /** Reachable without signing in (the sign-in callback). */
    public?: boolean;
  }
}

export {};
