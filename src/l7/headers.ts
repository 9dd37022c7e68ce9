/**
 * Header handling between client and upstream: hop-by-hop stripping (RFC 9110 §7.6.1,
 * plus whatever `Connection` names), x-forwarded-*, x-request-id, and a route's set/remove
 * edits, precompiled so a request does one pass over its fields and writes its head as one
 * latin1 string (so every byte a client sent reaches the upstream unchanged).
 */
import type { HeaderEditsConfig } from '../config/http-schema.js';
import type { MessageHead } from './h1/fields.js';
import type { RequestHead } from './h1/request-head.js';
import type { ResponseHead } from './h1/response-head.js';
import { HOP_BY_HOP_HEADERS } from './hop-by-hop.js';

/**
 * Never forwarded as they are: hop-by-hop, `expect` (answered by the proxy), and the
 * fields the proxy writes itself (host, framing, x-forwarded-for/proto).
 */
const REQUEST_SKIP = new Set([
  ...HOP_BY_HOP_HEADERS,
  'expect',
  'host',
  'content-length',
  'x-forwarded-for',
  'x-forwarded-proto',
]);
const RESPONSE_SKIP = new Set([...HOP_BY_HOP_HEADERS, 'content-length']);

/** A route's header edits, compiled: names to drop (removed or overridden) and pairs to add. */
export class HeaderEdits {
  readonly drop: ReadonlySet<string>;
  /** [name, value, ...] with values as latin1 wire text (UTF-8 in the config stays UTF-8 on the wire). */
  readonly add: readonly string[];
  /** The added fields as head lines, ready to append. */
  readonly addLines: string;

  constructor(config: HeaderEditsConfig | undefined) {
    const set = Object.entries(config?.set ?? {}).map(
      ([name, value]) => [name, Buffer.from(value, 'utf8').toString('latin1')] as const,
    );
    this.drop = new Set([...(config?.remove ?? []), ...set.map(([name]) => name)]);
    this.add = set.flat();
    this.addLines = set.map(([name, value]) => `${name}: ${value}\r\n`).join('');
  }

  static readonly NONE = new HeaderEdits(undefined);
}

export interface ForwardContext {
  clientAddress: string | undefined;
  /** Host header to send upstream (the client's, or the route's rewrite). */
  host: string | undefined;
  edits: HeaderEdits;
  /** WebSocket and other upgrades keep `connection: upgrade` and `upgrade`. */
  upgrade: boolean;
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
  if (!drop.has('x-forwarded-proto')) out += 'x-forwarded-proto: http\r\n';
  if (!head.hasForwardedHost && head.host !== undefined && !drop.has('x-forwarded-host')) {
    out += `x-forwarded-host: ${head.host}\r\n`;
  }
  if (context.upgrade) out += `connection: upgrade\r\nupgrade: ${head.upgrade ?? 'websocket'}\r\n`;
  out += context.edits.addLines;
  if (head.chunked) out += 'transfer-encoding: chunked\r\n';
  else if (head.contentLength >= 0) out += `content-length: ${head.contentLength}\r\n`;
  return `${out}\r\n`;
}

/**
 * The response head for the client, up to (not including) the framing and connection
 * lines that the client connection adds, without hop-by-hop fields.
 */
export function clientResponseFields(head: ResponseHead, edits: HeaderEdits): string {
  return (
    statusLine(head.status, head.reason) + forwardedFields(head, RESPONSE_SKIP, edits.drop) + edits.addLines
  );
}

/** The last status line made for each status code, with the reason phrase it was made from. */
const statusLines: ({ reason: string; line: string } | undefined)[] = new Array(1000);

/** `HTTP/1.1 200 OK\r\n`, built once per status code and reason (upstreams repeat theirs). */
function statusLine(status: number, reason: string): string {
  const cached = statusLines[status];
  if (cached !== undefined && cached.reason === reason) return cached.line;
  const line = `HTTP/1.1 ${status} ${reason}\r\n`;
  statusLines[status] = { reason, line };
  return line;
}

/**
 * A message's field lines as they are forwarded: without the fields in `skip`, those a
 * route's edits drop, and those the message's own Connection header names (hop-by-hop
 * for this message only).
 */
function forwardedFields(head: MessageHead, skip: ReadonlySet<string>, drop: ReadonlySet<string>): string {
  const extraHop = head.connectionNames;
  const fields = head.fields;
  let out = '';
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (skip.has(name) || drop.has(name) || extraHop?.includes(name)) continue;
    out += `${name}: ${fields[i + 1]}\r\n`;
  }
  return out;
}
