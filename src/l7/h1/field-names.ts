/**
 * Field names that nearly every request or response carries, recognised on their bytes
 * (any case) and returned as one shared lower-case string. A head then allocates no
 * string for them (no slice, no toLowerCase), and the switches and sets that test names
 * compare internalised strings, whose hashes V8 already knows.
 */
const COMMON = [
  'accept',
  'accept-encoding',
  'accept-language',
  'accept-ranges',
  'age',
  'authorization',
  'cache-control',
  'connection',
  'content-encoding',
  'content-length',
  'content-type',
  'cookie',
  'date',
  'etag',
  'expect',
  'expires',
  'host',
  'if-modified-since',
  'if-none-match',
  'keep-alive',
  'last-modified',
  'location',
  'origin',
  'pragma',
  'proxy-connection',
  'referer',
  'server',
  'set-cookie',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'vary',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'x-request-id',
];

interface KnownName {
  name: string;
  bytes: Uint8Array;
}

/** By length, then by first letter. */
const BY_LENGTH: (KnownName[] | undefined)[] = [];
for (const name of COMMON) {
  BY_LENGTH[name.length] ??= [];
  BY_LENGTH[name.length]!.push({ name, bytes: Buffer.from(name, 'latin1') });
}

/**
 * The shared lower-case string for the field name in `bytes[from, to)`, or undefined when
 * it is not a common one. The bytes must already be token characters: for those, `| 0x20`
 * lower-cases letters and leaves every character a common name contains unchanged.
 */
export function knownName(bytes: Uint8Array, from: number, to: number): string | undefined {
  const candidates = BY_LENGTH[to - from];
  if (candidates === undefined) return undefined;
  next: for (let c = 0; c < candidates.length; c++) {
    const known = candidates[c]!;
    const expected = known.bytes;
    for (let i = 0; i < expected.length; i++) {
      if ((bytes[from + i]! | 0x20) !== expected[i]) continue next;
    }
    return known.name;
  }
  return undefined;
}
