/**
 * Reads the server name (SNI) from the first bytes a TLS client sends, without decrypting
 * anything (there is nothing to decrypt yet: the ClientHello is plain text), as nginx's
 * `ssl_preread` and HAProxy's `req.ssl_sni` do. RFC 8446 §4.1.2 and RFC 6066 §3.
 */

/** More bytes are needed; or the hello and its name; or not a TLS ClientHello at all. */
export type HelloResult =
  | { kind: 'incomplete' }
  | { kind: 'hello'; serverName: string | undefined }
  | { kind: 'invalid'; reason: string };

/** A ClientHello larger than this (post-quantum key shares are ~1.2 KB) is refused. */
export const MAX_HELLO_BYTES = 64 * 1024;

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXTENSION_SERVER_NAME = 0x0000;
const NAME_TYPE_HOST = 0x00;

const INCOMPLETE: HelloResult = { kind: 'incomplete' };

function invalid(reason: string): HelloResult {
  return { kind: 'invalid', reason };
}

/** Parses `bytes` (everything received so far). A hello may span several TLS records. */
export function readClientHello(bytes: Buffer): HelloResult {
  // The handshake message's bytes, gathered from as many records as it spans.
  const parts: Buffer[] = [];
  let gathered = 0;
  let at = 0;
  let needed = -1;
  while (needed < 0 || gathered < needed) {
    if (bytes.length < at + 5)
      return bytes.length > MAX_HELLO_BYTES ? invalid('hello too large') : INCOMPLETE;
    if (bytes[at] !== RECORD_HANDSHAKE) return invalid('not a TLS handshake record');
    if (bytes[at + 1] !== 0x03) return invalid('not a TLS record version');
    const length = bytes.readUInt16BE(at + 3);
    if (length === 0) return invalid('empty TLS record');
    if (bytes.length < at + 5 + length)
      return at + 5 + length > MAX_HELLO_BYTES ? invalid('hello too large') : INCOMPLETE;
    parts.push(bytes.subarray(at + 5, at + 5 + length));
    gathered += length;
    at += 5 + length;
    if (needed < 0 && gathered >= 4) {
      const first = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      if (first[0] !== HANDSHAKE_CLIENT_HELLO)
        return invalid('the first handshake message is not a ClientHello');
      needed = 4 + first.readUIntBE(1, 3);
      if (needed > MAX_HELLO_BYTES) return invalid('hello too large');
    }
  }
  const message = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return parseHello(message.subarray(4, needed));
}

/** The ClientHello body: version, random, session id, cipher suites, compression, extensions. */
function parseHello(hello: Buffer): HelloResult {
  let at = 2 + 32;
  if (hello.length < at + 1) return invalid('truncated ClientHello');
  at += 1 + hello[at]!;
  if (hello.length < at + 2) return invalid('truncated ClientHello');
  at += 2 + hello.readUInt16BE(at);
  if (hello.length < at + 1) return invalid('truncated ClientHello');
  at += 1 + hello[at]!;
  // No extensions (very old clients): no name.
  if (hello.length < at + 2) return { kind: 'hello', serverName: undefined };
  const end = Math.min(hello.length, at + 2 + hello.readUInt16BE(at));
  at += 2;
  while (at + 4 <= end) {
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    at += 4;
    if (at + length > end) return invalid('truncated extension');
    if (type === EXTENSION_SERVER_NAME) return serverNameOf(hello.subarray(at, at + length));
    at += length;
  }
  return { kind: 'hello', serverName: undefined };
}

function serverNameOf(extension: Buffer): HelloResult {
  if (extension.length < 2) return invalid('truncated server_name');
  const end = Math.min(extension.length, 2 + extension.readUInt16BE(0));
  let at = 2;
  while (at + 3 <= end) {
    const type = extension[at]!;
    const length = extension.readUInt16BE(at + 1);
    at += 3;
    if (at + length > end) return invalid('truncated server_name');
    if (type === NAME_TYPE_HOST) {
      const name = extension.toString('latin1', at, at + length);
      // A host name is letters, digits, "-" and "."; anything else is not one to route on.
      if (!/^[A-Za-z0-9.-]{1,253}$/.test(name)) return invalid('server name is not a host name');
      return { kind: 'hello', serverName: name.toLowerCase().replace(/\.$/, '') };
    }
    at += length;
  }
  return { kind: 'hello', serverName: undefined };
}
