/**
 * MurmurHash3 (x86, 32-bit) over a string's UTF-16 code units, without allocating.
 * Good avalanche on short, similar keys (IP addresses, "host:port#17") matters here:
 * FNV-1a clusters such keys on a hash ring.
 *
 * The 32 bits come back as a signed integer: V8 keeps that a small integer, where an
 * unsigned value above 2^31 would be a heap number allocated on every pick. Callers that
 * need the unsigned value take `>>> 0` where they use it.
 */
export function hashString(text: string, seed = 0): number {
  return hashRange(text, 0, text.length, seed);
}

/**
 * The hash of `text.slice(start, end)` without making the slice: hash keys inside a request
 * target (a query parameter, the path before `?`) are hashed where they are.
 */
export function hashRange(text: string, start: number, end: number, seed = 0): number {
  let h = seed >>> 0;
  let i = start;
  // Two UTF-16 code units per 32-bit block.
  for (; i + 1 < end; i += 2) {
    let k = (text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16)) >>> 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < end) {
    let k = text.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= (end - start) * 2;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
