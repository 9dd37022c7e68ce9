/**
 * Header handling between client and upstream: hop-by-hop stripping (RFC 9110 §7.6.1,
 * plus whatever `Connection` names), x-forwarded-*, x-request-id, and a route's set/remove
 * edits, precompiled so a request does one pass over its fields and writes its head as one
 * latin1 string (so every byte a client sent reaches the upstream unchanged).
 */
import type { HeaderEditsConfig } from '../config/http-schema.js';
import type { MessageHead } from './h1/fields.js';
import type { HeadBytes } from './h1/head-bytes.js';
import type { RequestHead } from './h1/request-head.js';
import type { ResponseHead } from './h1/response-head.js';
import { HOP_BY_HOP_HEADERS } from './hop-by-hop.js';

/**
 * Never forwarded as they are: hop-by-hop, `expect` (answered by the proxy), and the
 * fields the proxy writes itself (host, framing, x-forwarded-for/host/proto).
 */
const REQUEST_SKIP = new Set([
  ...HOP_BY_HOP_HEADERS,
  'expect',
  'host',
  'content-length',
  'x-forwarded-for',
  // Set from the Host the proxy received, replacing a client's (a forged one included).
  'x-forwarded-host',
  'x-forwarded-proto',
]);
export const RESPONSE_SKIP: ReadonlySet<string> = new Set([...HOP_BY_HOP_HEADERS, 'content-length']);

/** A route's header edits, compiled: names to drop (removed or overridden) and pairs to add. */
export class HeaderEdits {
  readonly drop: ReadonlySet<string>;
  /**
   * The added fields as head lines, ready to append (as text and as bytes); values are latin1
   * wire text, so UTF-8 in the config stays UTF-8 on the wire.
   */
  readonly addLines: string;
  readonly addBytes: Buffer;
  /** The added fields as [name, value] pairs (HTTP/2 header blocks). */
  readonly add: readonly (readonly [string, string])[];

  constructor(config: HeaderEditsConfig | undefined) {
    const set = Object.entries(config?.set ?? {}).map(
      ([name, value]) => [name, Buffer.from(value, 'utf8').toString('latin1')] as const,
    );
    this.drop = new Set([...(config?.remove ?? []), ...set.map(([name]) => name)]);
    this.add = set;
    this.addLines = set.map(([name, value]) => `${name}: ${value}\r\n`).join('');
    this.addBytes = Buffer.from(this.addLines, 'latin1');
  }

  static readonly NONE = new HeaderEdits(undefined);

  /** The response head for the client with these edits (the codec's ResponseFields). */
  copyResponseFields(out: HeadBytes, response: ResponseHead): void {
    copyClientResponseFields(out, response, this);
  }
}

export interface ForwardContext {
  clientAddress: string | undefined;
  /** Host header to send upstream (the client's, or the route's rewrite). */
  host: string | undefined;
  edits: HeaderEdits;
  /** WebSocket and other upgrades keep `connection: upgrade` and `upgrade`. */
  upgrade: boolean;
  /** An HTTP/2 upstream gets `te: trailers` (gRPC servers expect it; it is the only `te` HTTP/2 allows). */
  teTrailers?: boolean;
  /** The client spoke TLS to the listener. */
  https?: boolean;
}

/** The request head for the upstream: request line, forwarded fields, framing, empty line. */
export function upstreamRequestHead(head: RequestHead, path: string, context: ForwardContext): string {
  let out = `${head.method} ${path} HTTP/1.1\r\n`;
  // No host (an HTTP/1.0 client): an empty one, as RFC 9112 §3.2 says for a URI without authority.
  out += `host: ${context.host ?? ''}\r\n`;
  const drop = context.edits.drop;
  out += forwardedFields(head, REQUEST_SKIP, drop);
  if (!drop.has('x-forwarded-for')) {
    const client = context.clientAddress ?? 'unknown';
    const chain = head.forwardedFor;
    out += `x-forwarded-for: ${chain ? `${chain}, ${client}` : client}\r\n`;
  }
  if (!drop.has('x-forwarded-proto'))
    out += context.https ? 'x-forwarded-proto: https\r\n' : 'x-forwarded-proto: http\r\n';
  if (head.host !== undefined && !drop.has('x-forwarded-host')) {
    out += `x-forwarded-host: ${head.host}\r\n`;
  }
  if (context.upgrade) out += `connection: upgrade\r\nupgrade: ${head.upgrade ?? 'websocket'}\r\n`;
  out += context.edits.addLines;
  if (context.teTrailers) out += 'te: trailers\r\n';
  if (head.chunked) out += 'transfer-encoding: chunked\r\n';
  else if (head.contentLength >= 0) out += `content-length: ${head.contentLength}\r\n`;
  return `${out}\r\n`;
}

const HTTP11 = Buffer.from('HTTP/1.1', 'latin1');
const SP_CRLF = Buffer.from(' \r\n', 'latin1');

/**
 * The response head for the client, up to (not including) the framing and connection
 * lines that the writer adds: the status line and the kept field lines copied as the
 * upstream sent them (names in its case: field names are case-insensitive, and nginx and
 * HAProxy forward them as received too), then the route's added fields.
 */
export function copyClientResponseFields(out: HeadBytes, head: ResponseHead, edits: HeaderEdits): void {
  const { bytes, start, lines, fields } = head;
  // Always HTTP/1.1 to the client (the writer frames for HTTP/1.0 clients), then " 200 OK\r\n".
  out.copy(HTTP11);
  if (lines[0]! - start > 14) out.copy(bytes, start + 8, lines[0]!);
  else {
    // No reason phrase: the SP before it is still required (RFC 9112 §4).
    out.copy(bytes, start + 8, start + 12);
    out.copy(SP_CRLF);
  }
  // Runs of kept lines are contiguous in the upstream's bytes: one copy each.
  let run = -1;
  for (let k = 0; k < head.fieldCount; k++) {
    const kept = isForwarded(fields[2 * k]!, head, RESPONSE_SKIP, edits.drop);
    if (kept && run < 0) run = lines[k]!;
    else if (!kept && run >= 0) {
      out.copy(bytes, run, lines[k]!);
      run = -1;
    }
  }
  if (run >= 0) out.copy(bytes, run, lines[head.fieldCount]!);
  out.copy(edits.addBytes);
}

/**
 * A message's field lines as they are forwarded: without the fields in `skip`, those a
 * route's edits drop, and those the message's own Connection header names (hop-by-hop
 * for this message only).
 */
function forwardedFields(head: MessageHead, skip: ReadonlySet<string>, drop: ReadonlySet<string>): string {
  const fields = head.fields;
  let out = '';
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (isForwarded(name, head, skip, drop)) out += `${name}: ${fields[i + 1]}\r\n`;
  }
  return out;
}

/** Whether field `name` of `head` is forwarded: not in `skip`, not dropped by the route, not named by the head's Connection. */
export function isForwarded(
  name: string,
  head: MessageHead,
  skip: ReadonlySet<string>,
  drop: ReadonlySet<string>,
): boolean {
  return !(skip.has(name) || drop.has(name) || head.connectionNames?.includes(name));
}
