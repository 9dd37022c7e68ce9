/**
 * Header handling between client and upstream: hop-by-hop stripping (RFC 9110 §7.6.1,
 * plus whatever `Connection` names), x-forwarded-*, x-request-id, and a route's set/remove
 * edits, precompiled so a request does one pass over its headers.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { HeaderEditsConfig } from '../config/http-schema.js';
import { HOP_BY_HOP_HEADERS } from './hop-by-hop.js';

/**
 * Never forwarded as they are. `expect` is answered by Node (100-continue) and `host` is
 * written separately so a rewrite can replace it.
 */
const HOP_BY_HOP = new Set([...HOP_BY_HOP_HEADERS, 'expect', 'host']);

/** A route's header edits, compiled: names to drop (removed or overridden) and pairs to add. */
export class HeaderEdits {
  readonly drop: ReadonlySet<string>;
  readonly add: readonly string[];

  constructor(config: HeaderEditsConfig | undefined) {
    const set = Object.entries(config?.set ?? {});
    this.drop = new Set([...(config?.remove ?? []), ...set.map(([name]) => name)]);
    this.add = set.flat();
  }

  static readonly NONE = new HeaderEdits(undefined);
}

/** Tokens of a `Connection` header other than keep-alive/close/upgrade: more hop-by-hop names. */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined || value === 'keep-alive' || value === 'close') return undefined;
  let extra: Set<string> | undefined;
  for (const token of String(value).split(',')) {
    const name = token.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive' && name !== 'upgrade') {
      extra ??= new Set();
      extra.add(name);
    }
  }
  return extra;
}

export interface ForwardContext {
  clientAddress: string | undefined;
  /** Host header to send upstream (the client's, or the route's rewrite). */
  host: string | undefined;
  edits: HeaderEdits;
  /** WebSocket and other upgrades keep `connection: upgrade` and `upgrade`. */
  upgrade: boolean;
}

/** The client's x-request-id, or a new one (written back onto `req.headers` for logging). */
export function requestIdOf(req: IncomingMessage): string {
  const existing = req.headers['x-request-id'];
  if (typeof existing === 'string' && existing !== '') return existing;
  const id = randomUUID();
  req.headers['x-request-id'] = id;
  return id;
}

/** Request headers for the upstream as a flat [name, value, ...] list (undici's and Node's fast form). */
export function upstreamRequestHeaders(req: IncomingMessage, context: ForwardContext): string[] {
  const headers = req.headers;
  const extraHop = connectionTokens(headers.connection);
  const drop = context.edits.drop;
  const out: string[] = [];
  if (context.host !== undefined) out.push('host', context.host);
  let forwardedFor: string | undefined;
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || drop.has(name) || extraHop?.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (name === 'x-forwarded-for') {
      forwardedFor = String(value);
      continue;
    }
    if (name === 'x-forwarded-proto') continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v);
  }
  if (!drop.has('x-forwarded-for')) {
    const client = context.clientAddress ?? 'unknown';
    out.push('x-forwarded-for', forwardedFor ? `${forwardedFor}, ${client}` : client);
  }
  if (!drop.has('x-forwarded-proto')) out.push('x-forwarded-proto', 'http');
  if (
    headers['x-forwarded-host'] === undefined &&
    headers.host !== undefined &&
    !drop.has('x-forwarded-host')
  ) {
    out.push('x-forwarded-host', headers.host);
  }
  if (context.upgrade) out.push('connection', 'upgrade', 'upgrade', String(headers.upgrade ?? 'websocket'));
  const add = context.edits.add;
  for (let i = 0; i < add.length; i++) out.push(add[i]!);
  return out;
}

const RESPONSE_HOP_BY_HOP = new Set(HOP_BY_HOP_HEADERS);

/**
 * Upstream response headers (undici's raw Buffer pairs) → a flat list for `res.writeHead`,
 * without hop-by-hop headers. latin1 keeps every byte as it came.
 */
export function clientResponseHeaders(raw: readonly Buffer[], edits: HeaderEdits): string[] {
  const out: string[] = [];
  let extraHop: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    if (name === 'connection') extraHop = connectionTokens(raw[i + 1]!.toString('latin1'));
    if (RESPONSE_HOP_BY_HOP.has(name) || edits.drop.has(name)) continue;
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  if (extraHop) {
    for (let i = out.length - 2; i >= 0; i -= 2) if (extraHop.has(out[i]!)) out.splice(i, 2);
  }
  for (let i = 0; i < edits.add.length; i++) out.push(edits.add[i]!);
  return out;
}
