import { hashRange, hashString } from './hash.js';
import type { PickContext } from './picker.js';

/**
 * What a hashing policy hashes: the client address; the destination (L7 host and path, L4
 * the address the client connected to); or for L7 the path, the whole request target (`uri`),
 * a header, a cookie or a query parameter (HAProxy `url_param`).
 */
export type HashKey =
  | { kind: 'client_ip' }
  | { kind: 'destination' }
  | { kind: 'path' }
  | { kind: 'uri' }
  | { kind: 'header'; name: string }
  | { kind: 'cookie'; name: string }
  | { kind: 'query'; name: string };

export const HASH_KEY_FORMS =
  '"client_ip", "destination", "path", "uri", "header:NAME", "cookie:NAME" or "query:NAME"';

/** `hashKey`'s answer when the connection or request has no such key (hashes are int32). */
export const NO_KEY = 2 ** 32;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Query parameter names as they appear in a target: no `&`, `=`, `#` or spaces. */
const QUERY_NAME = /^[A-Za-z0-9._~!$'()*+,;:@/?%[\]-]+$/;

/** Parses the `key` option; returns an error message for anything else. */
export function parseHashKey(text: string): HashKey | string {
  if (text === 'client_ip' || text === 'destination' || text === 'path' || text === 'uri')
    return { kind: text };
  const colon = text.indexOf(':');
  const kind = text.slice(0, colon);
  const name = text.slice(colon + 1).trim();
  if (colon > 0 && (kind === 'header' || kind === 'cookie')) {
    if (!TOKEN.test(name)) return `"${text}": "${name}" is not a valid ${kind} name`;
    return { kind, name: kind === 'header' ? name.toLowerCase() : name };
  }
  if (colon > 0 && kind === 'query') {
    if (!QUERY_NAME.test(name)) return `"${text}": "${name}" is not a valid query parameter name`;
    return { kind, name };
  }
  return `unknown hash key "${text}"; write ${HASH_KEY_FORMS}`;
}

/**
 * The hash of the key's value for one pick, or NO_KEY when the connection or request has
 * none. Values inside the target or a cookie header are hashed in place: no slice per pick.
 */
export function hashKey(key: HashKey, context: PickContext): number {
  const request = context.request;
  switch (key.kind) {
    case 'client_ip': {
      const address = context.clientAddress;
      return address ? hashString(address) : NO_KEY;
    }
    case 'destination': {
      if (request) {
        const host = request.host;
        return hashRange(request.path, 0, pathEnd(request.path), host ? hashString(host) : 0);
      }
      const address = context.destinationAddress;
      return address ? hashString(address, context.destinationPort ?? 0) : NO_KEY;
    }
    case 'path': {
      const path = request?.path;
      return path ? hashRange(path, 0, pathEnd(path)) : NO_KEY;
    }
    case 'uri': {
      const target = request?.target ?? request?.path;
      return target ? hashString(target) : NO_KEY;
    }
    case 'header': {
      const value = request?.headers[key.name];
      if (Array.isArray(value)) return value.length > 0 ? hashString(value.join(',')) : NO_KEY;
      return value ? hashString(value) : NO_KEY;
    }
    case 'cookie': {
      const header = request?.headers.cookie;
      return header ? hashParameter(header, 0, header.length, ';', key.name) : NO_KEY;
    }
    case 'query': {
      const target = request?.target ?? request?.path;
      if (!target) return NO_KEY;
      const question = target.indexOf('?');
      const fragment = target.indexOf('#');
      if (question < 0 || (fragment >= 0 && fragment < question)) return NO_KEY;
      return hashParameter(target, question + 1, fragment < 0 ? target.length : fragment, '&', key.name);
    }
  }
}

function pathEnd(path: string): number {
  const question = path.indexOf('?');
  return question < 0 ? path.length : question;
}

/**
 * Finds `name=value` among `separator`-separated parts of `text[from, to)` and hashes the
 * value; NO_KEY when the name is absent or its value empty. Cookie parts (`; `) are trimmed
 * of spaces; query parts are taken as they are.
 */
function hashParameter(text: string, from: number, to: number, separator: string, name: string): number {
  const trim = separator === ';';
  let start = from;
  while (start < to) {
    let end = text.indexOf(separator, start);
    if (end < 0 || end > to) end = to;
    let nameStart = start;
    if (trim) while (nameStart < end && text.charCodeAt(nameStart) === 32) nameStart++;
    const equals = nameStart + name.length;
    if (equals < end && text.charCodeAt(equals) === 61 && text.startsWith(name, nameStart)) {
      let valueStart = equals + 1;
      let valueEnd = end;
      if (trim) {
        while (valueStart < valueEnd && text.charCodeAt(valueStart) === 32) valueStart++;
        while (valueEnd > valueStart && text.charCodeAt(valueEnd - 1) === 32) valueEnd--;
      }
      return valueEnd > valueStart ? hashRange(text, valueStart, valueEnd) : NO_KEY;
    }
    start = end + 1;
  }
  return NO_KEY;
}
