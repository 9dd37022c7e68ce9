import type { PickContext } from './picker.js';

/** What `source_hash` hashes: the client address, or for L7 a header, a cookie or the path. */
export type HashKey =
  | { kind: 'client_ip' }
  | { kind: 'header'; name: string }
  | { kind: 'cookie'; name: string }
  | { kind: 'path' };

export const HASH_KEY_FORMS = '"client_ip", "path", "header:NAME" or "cookie:NAME"';

/** Parses the `key` option; returns an error message for anything else. */
export function parseHashKey(text: string): HashKey | string {
  if (text === 'client_ip') return { kind: 'client_ip' };
  if (text === 'path') return { kind: 'path' };
  const colon = text.indexOf(':');
  const kind = text.slice(0, colon);
  const name = text.slice(colon + 1).trim();
  if (colon > 0 && (kind === 'header' || kind === 'cookie')) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      return `"${text}": "${name}" is not a valid ${kind} name`;
    return { kind, name: kind === 'header' ? name.toLowerCase() : name };
  }
  return `unknown hash key "${text}"; write ${HASH_KEY_FORMS}`;
}

/** The key's value for one pick, or undefined when the connection or request has none. */
export function hashKeyValue(key: HashKey, context: PickContext): string | undefined {
  switch (key.kind) {
    case 'client_ip':
      return context.clientAddress || undefined;
    case 'path': {
      const path = context.request?.path;
      if (!path) return undefined;
      const query = path.indexOf('?');
      return query < 0 ? path : path.slice(0, query);
    }
    case 'header': {
      const value = context.request?.headers[key.name];
      if (Array.isArray(value)) return value.length > 0 ? value.join(',') : undefined;
      return value || undefined;
    }
    case 'cookie':
      return cookieValue(context.request?.headers.cookie, key.name);
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const equals = part.indexOf('=');
    if (equals > 0 && part.slice(0, equals).trim() === name)
      return part.slice(equals + 1).trim() || undefined;
  }
  return undefined;
}
