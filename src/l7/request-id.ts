/**
 * x-request-id values: random (version 4) UUIDs, as `crypto.randomUUID()` makes them, but
 * written as ASCII into one scratch buffer and read out as one flat string. Node's own
 * builds each UUID from 20 string concatenations, which made request ids a tenth of
 * the garbage a proxied request leaves behind. Entropy comes from `randomFillSync` in
 * blocks, as Node's own does.
 */
// Imported at start, not on first use like node:tls or node:http2 (see
// test/unit/start-imports.test.ts): every HTTP request without an id needs one, and loading
// node:crypto on the first request would have V8 optimize Node's module loader then.
import { randomFillSync } from 'node:crypto';

// 16 KiB per randomFillSync: its fixed cost (~4 us) spread over 1,024 ids, not 128.
const IDS_PER_FILL = 1024;
const random = Buffer.allocUnsafe(16 * IDS_PER_FILL);
let nextId = IDS_PER_FILL;
const text = Buffer.alloc(36, '-');
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** A new random UUID (RFC 9562 version 4), lower-case: `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`. */
export function newRequestId(): string {
  if (nextId === IDS_PER_FILL) {
    randomFillSync(random);
    nextId = 0;
  }
  const at = 16 * nextId++;
  random[at + 6] = (random[at + 6]! & 0x0f) | 0x40;
  random[at + 8] = (random[at + 8]! & 0x3f) | 0x80;
  let out = 0;
  for (let i = 0; i < 16; i++) {
    // Dashes stay where Buffer.alloc put them: before bytes 4, 6, 8 and 10.
    if (i === 4 || i === 6 || i === 8 || i === 10) out++;
    const byte = random[at + i]!;
    text[out++] = HEX[byte >> 4]!;
    text[out++] = HEX[byte & 15]!;
  }
  return text.toString('latin1', 0, 36);
}
