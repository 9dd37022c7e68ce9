/**
 * Translation between HTTP/1.1 heads (what the codec parses and the forwarding rules in
 * headers.ts write) and HTTP/2 header blocks: no connection-specific fields in HTTP/2,
 * `:authority` ↔ Host, `te: trailers` only. Going through the HTTP/1.1 form keeps one set
 * of forwarding rules (x-forwarded-*, route edits, hop-by-hop) for both protocols.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { ResponseHead } from '../h1/response-head.js';
import { type HeaderEdits, isForwarded, RESPONSE_SKIP } from '../headers.js';

/** Fields HTTP/2 forbids (RFC 9113 §8.2.2), besides those forwarding already drops. */
/** Reason phrases; node:http is loaded by the first HTTP/2 response, not at start (see test/unit/start-imports.test.ts). */
let reasons: Record<number, string | undefined> | undefined;
const statusText = () => (reasons ??= process.getBuiltinModule('node:http').STATUS_CODES);

const H2_FORBIDDEN = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

function addField(out: OutgoingHttpHeaders, name: string, value: string): void {
  const seen = out[name];
  if (seen === undefined) out[name] = value;
  else if (Array.isArray(seen)) seen.push(value);
  else out[name] = [String(seen), value];
}

/** The HTTP/2 response header block for the client: the upstream's kept fields and the route's edits. */
export function h2ResponseHeaders(
  response: ResponseHead,
  edits: HeaderEdits,
  keepLength: boolean,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':status': response.status };
  const fields = response.fields;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name === 'content-length') {
      if (keepLength && !edits.drop.has(name)) out[name] = fields[i + 1]!;
      continue;
    }
    if (isForwarded(name, response, RESPONSE_SKIP, edits.drop)) addField(out, name, fields[i + 1]!);
  }
  for (const [name, value] of edits.add) out[name] = value;
  return out;
}

/** Trailer fields ([name, value, ...]) as a header block, without connection-specific ones. */
export function trailerHeaders(fields: readonly string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (!H2_FORBIDDEN.has(name) && name !== 'te') addField(out, name, fields[i + 1]!);
  }
  return out;
}

/** A header block's regular fields as [name, value, ...] (rawHeaders when Node gives them). */
export function fieldsOf(headers: IncomingHttpHeaders, rawHeaders?: readonly string[]): string[] {
  const out: string[] = [];
  if (rawHeaders !== undefined) {
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      if (name.charCodeAt(0) !== 0x3a) out.push(name, rawHeaders[i + 1]!);
    }
    return out;
  }
  for (const name of Object.keys(headers)) {
    if (name.charCodeAt(0) === 0x3a) continue;
    const value = headers[name];
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else if (value !== undefined) out.push(name, String(value));
  }
  return out;
}

/**
 * An HTTP/2 upstream's response header block as a ResponseHead (the form the client side
 * writes from), parsed by the HTTP/1.1 parser so its fields are checked the same way.
 */
export function responseHeadFromH2(
  headers: IncomingHttpHeaders,
  rawHeaders?: readonly string[],
): ResponseHead | undefined {
  const status = Number(headers[':status']);
  if (!Number.isInteger(status) || status < 200 || status > 999) return undefined;
  const fields = fieldsOf(headers, rawHeaders);
  let text = `HTTP/1.1 ${status} ${statusText()[status] ?? ''}\r\n`;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (H2_FORBIDDEN.has(name)) continue;
    text += `${name}: ${fields[i + 1]}\r\n`;
  }
  const head = new ResponseHead();
  return head.parse(text) === undefined ? head : undefined;
}

/**
 * The request header block for an HTTP/2 upstream, from the HTTP/1.1 head text the
 * forwarding rules wrote (request line, fields, CRLFs): host → `:authority`, framing and
 * connection fields dropped.
 */
export function h2RequestHeaders(headText: string, scheme: 'http' | 'https' = 'http'): OutgoingHttpHeaders {
  const eol = headText.indexOf('\r\n');
  const line = headText.slice(0, eol);
  const sp1 = line.indexOf(' ');
  const sp2 = line.lastIndexOf(' ');
  const out: OutgoingHttpHeaders = {
    ':method': line.slice(0, sp1),
    ':path': line.slice(sp1 + 1, sp2),
    ':scheme': scheme,
  };
  let at = eol + 2;
  while (at < headText.length) {
    const end = headText.indexOf('\r\n', at);
    if (end <= at) break;
    const colon = headText.indexOf(':', at);
    const name = headText.slice(at, colon).toLowerCase();
    const value = headText.slice(colon + 2, end);
    at = end + 2;
    if (name === 'host') {
      if (value !== '') out[':authority'] = value;
    } else if (!H2_FORBIDDEN.has(name)) addField(out, name, value);
  }
  return out;
}
