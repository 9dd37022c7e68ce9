/**
 * The L7 proxy is loaded only when a config has an `http` listener, so an L4-only Portside
 * stays small. `ensureHttpProxyLoaded` runs before a
 * generation is built; building the handler itself stays synchronous.
 */
type HttpProxyModule = typeof import('./http-proxy.js');

let loaded: HttpProxyModule | undefined;

export async function ensureHttpProxyLoaded(): Promise<void> {
  loaded ??= await import('./http-proxy.js');
}

export function httpProxyModule(): HttpProxyModule {
  if (!loaded) throw new Error('the L7 proxy was not loaded; call ensureHttpProxyLoaded() first');
  return loaded;
}
