/**
 * The HTTP/2 connection preface (RFC 9113 §3.4), which a client with prior knowledge sends
 * first on a cleartext connection. Its first line is not a valid HTTP/1.1 request line for
 * any method but `PRI`, so an HTTP/1.1 connection and an h2c one share a port.
 */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Bytes that decide: `PRI * HTTP/2.0\r\n`. nghttp2 checks the rest. */
const DECIDING = 16;

/** 'yes' once the deciding bytes match; 'partial' while what came so far is a prefix of them. */
export function prefaceMatch(bytes: Buffer): 'yes' | 'no' | 'partial' {
  const n = Math.min(bytes.length, DECIDING);
  if (bytes.compare(PREFACE, 0, n, 0, n) !== 0) return 'no';
  return n === DECIDING ? 'yes' : 'partial';
}
