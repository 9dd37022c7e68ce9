/**
 * Hides secrets in the effective config before the admin API shows it. Matching is by key
 * name, so secrets added by future config sections are hidden without touching this file
 * as long as their key says what they are.
 */
export const REDACTED = '[redacted]';

const SECRET_KEY = /(token|secret|password|passphrase|credential|authorization|private_?key|api_?key)$/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A deep copy of `value` with every secret-named key's value replaced by `[redacted]`. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = isSecretKey(key) && inner !== undefined && inner !== null ? REDACTED : redact(inner);
  }
  return out;
}
