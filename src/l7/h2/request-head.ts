/**
 * An HTTP/2 request's header block as the RequestHead the rest of the L7 code routes and
 * forwards: built as the equivalent HTTP/1.1 head text and parsed by the same strict parser
 * (so both protocols get one validation and one set of forwarding rules). `:authority` is
 * the host; a body without content-length is marked chunked, so an HTTP/1.1 upstream gets
 * it framed (h2/client-stream.ts frames it) and an HTTP/2 upstream gets it as it came.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import { RequestHead } from '../h1/request-head.js';
import { fieldsOf } from './header-blocks.js';

export interface H2HeadResult {
  head?: RequestHead;
  /** Why the block was refused (the stream is answered 400). */
  error?: string;
}

export function requestHeadFromH2(
  headers: IncomingHttpHeaders,
  rawHeaders: readonly string[] | undefined,
  endStream: boolean,
): H2HeadResult {
  const method = headers[':method'];
  const path = headers[':path'];
  if (typeof method !== 'string' || method === 'CONNECT') return { error: 'CONNECT or no :method' };
  if (typeof path !== 'string' || path === '') return { error: 'no :path' };
  const authority = headers[':authority'] ?? headers.host;
  let text = `${method} ${path} HTTP/1.1\r\nhost: ${typeof authority === 'string' ? authority : ''}\r\n`;
  const fields = fieldsOf(headers, rawHeaders);
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name !== 'host') text += `${name}: ${fields[i + 1]}\r\n`;
  }
  const head = new RequestHead();
  const error = head.parse(text);
  if (error !== undefined) return { error };
  if (head.chunked) return { error: 'transfer-encoding in an HTTP/2 request' };
  if (!endStream && head.contentLength < 0) head.chunked = true;
  if (endStream && head.contentLength > 0) return { error: 'content-length without a body' };
  return { head };
}
