/**
 * Raw HTTP/2 frames (RFC 9113 §4), for tests that must send what no well-behaved client
 * library would: floods, endless CONTINUATION, resets. Header blocks use HPACK literals
 * without Huffman coding or indexing (RFC 7541 §6.2.2), which every decoder must accept.
 */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FRAME = {
  data: 0x0,
  headers: 0x1,
  rstStream: 0x3,
  settings: 0x4,
  ping: 0x6,
  goaway: 0x7,
  windowUpdate: 0x8,
  continuation: 0x9,
} as const;

export const FLAG = { endStream: 0x1, ack: 0x1, endHeaders: 0x4 } as const;

export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  if (n.length > 126 || v.length > 126) throw new Error('test header too long for a one-byte length');
  return Buffer.concat([Buffer.from([0x00, n.length]), n, Buffer.from([v.length]), v]);
}

/** An HPACK block of literal fields. */
export function headerBlock(fields: [string, string][]): Buffer {
  return Buffer.concat(fields.map(([n, v]) => literal(n, v)));
}

/** A GET request's header block for `path`. */
export function getRequest(path: string, authority = 'test'): Buffer {
  return headerBlock([
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', authority],
  ]);
}

/** The client's opening: preface and an empty SETTINGS frame. */
export function opening(): Buffer {
  return Buffer.concat([PREFACE, frame(FRAME.settings, 0, 0)]);
}

/** Frame types seen in `bytes` (a server's output), with GOAWAY error codes. */
export function readFrames(
  bytes: Buffer,
): { type: number; flags: number; stream: number; payload: Buffer }[] {
  const frames = [];
  let at = 0;
  while (at + 9 <= bytes.length) {
    const length = bytes.readUIntBE(at, 3);
    if (at + 9 + length > bytes.length) break;
    frames.push({
      type: bytes[at + 3]!,
      flags: bytes[at + 4]!,
      stream: bytes.readUInt32BE(at + 5) & 0x7fffffff,
      payload: bytes.subarray(at + 9, at + 9 + length),
    });
    at += 9 + length;
  }
  return frames;
}
