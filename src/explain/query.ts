/**
 * An explain query as URL search parameters (how the CLI asks the admin API's `/explain`)
 * and back, and the `-H 'name: value'` header lines both take.
 */
import type { ExplainQuery } from './explanation.js';

/** `name: value` → [lower-case name, value]; a message when it is not a header line. */
export function parseHeaderLine(line: string): [string, string] | string {
  const colon = line.indexOf(':');
  const name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : '';
  if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) return `"${line}" is not a header: write "name: value"`;
  return [name, line.slice(colon + 1).trim()];
}

/** Header lines → headers; a repeated name joins its values with ", " (as Node does). */
export function parseHeaderLines(lines: readonly string[]): Record<string, string> | string {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const parsed = parseHeaderLine(line);
    if (typeof parsed === 'string') return parsed;
    const [name, value] = parsed;
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return headers;
}

export function querySearch(query: ExplainQuery): URLSearchParams {
  const search = new URLSearchParams();
  if (query.kind === 'tcp') {
    search.set('tcp', query.listener);
    if (query.serverName !== undefined) search.set('sni', query.serverName);
  } else {
    search.set('method', query.method);
    search.set('url', query.url);
    for (const [name, value] of Object.entries(query.headers)) search.append('header', `${name}: ${value}`);
    if (query.listener !== undefined) search.set('listener', query.listener);
  }
  if (query.clientAddress !== undefined) search.set('client', query.clientAddress);
  return search;
}

/** The query `querySearch` wrote; a message when the parameters do not make one. */
export function queryFromSearch(search: URLSearchParams): ExplainQuery | string {
  const client = search.get('client') ?? undefined;
  const clientAddress = client ? { clientAddress: client } : {};
  const tcp = search.get('tcp') ?? search.get('udp') ?? search.get('tls');
  const sni = search.get('sni');
  if (tcp !== null)
    return { kind: 'tcp', listener: tcp, ...clientAddress, ...(sni ? { serverName: sni } : {}) };
  const method = search.get('method') ?? 'GET';
  const url = search.get('url');
  if (!url) return 'give url=http://host/path (and method=, header=name: value) or tcp=LISTENER';
  const headers = parseHeaderLines(search.getAll('header'));
  if (typeof headers === 'string') return headers;
  const listener = search.get('listener') ?? undefined;
  return { kind: 'http', method, url, headers, ...(listener ? { listener } : {}), ...clientAddress };
}
