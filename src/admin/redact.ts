/**
 * Hides secrets in the effective config before the admin API (or `validate
 * --print-defaults`) shows it. Three rules, so secrets added by future config sections are
 * hidden without touching this file as long as they take one of these shapes:
 * - a key whose name says it is a secret (`token`, `password`, `apiKey`…);
 * - a header edit (`requestHeaders.set`, `responseHeaders.set`): the names show, the values
 *   (API keys, cookies, bearer tokens) do not;
 * - the userinfo of any URL in any string (`http://user:password@host`).
 */
import { REDACTED, redactUrls } from '../core/secrets.js';

export { REDACTED };

const SECRET_KEY = /(token|secret|password|passphrase|credential|authorization|private_?key|api_?key)$/i;
const HEADER_EDITS = new Set(['requestHeaders', 'responseHeaders']);

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A deep copy of `value` with every secret replaced by `[redacted]`. */
export function redact(value: unknown): unknown {
  if (typeof value === 'string') return redactUrls(value);
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (inner === undefined || inner === null) out[key] = inner;
    else if (isSecretKey(key)) out[key] = REDACTED;
    else if (HEADER_EDITS.has(key)) out[key] = redactHeaderEdits(inner);
    else out[key] = redact(inner);
  }
  return out;
}

function redactHeaderEdits(edits: unknown): unknown {
  const copy = redact(edits);
  if (copy === null || typeof copy !== 'object' || Array.isArray(copy)) return copy;
  const set = (copy as Record<string, unknown>).set;
  if (set === null || typeof set !== 'object' || Array.isArray(set)) return copy;
  const names: Record<string, string> = {};
  for (const name of Object.keys(set)) names[name] = REDACTED;
  return { ...copy, set: names };
}
