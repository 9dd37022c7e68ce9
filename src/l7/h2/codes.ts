/**
 * nghttp2's codes and flags (node:http2's `constants`), read once. node:http2 is loaded by
 * the first HTTP/2 connection, not at start (see test/unit/start-imports.test.ts).
 */
let constants: typeof import('node:http2').constants | undefined;

export const h2 = (): typeof import('node:http2').constants =>
  (constants ??= process.getBuiltinModule('node:http2').constants);
