/**
 * Hides credentials wherever a URL becomes text: config dumps, error messages (fetch and
 * undici errors quote the URL they were given), log lines. One function, so every path
 * that turns a URL into text hides its userinfo the same way.
 */
export const REDACTED = '[redacted]';

/**
 * `scheme://user:password@host` anywhere in `text` → `scheme://[redacted]@host`. Greedy up
 * to the last `@` before the path, as URL parsers read it (a password may hold a raw `@`).
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*(?:@[^\s/?#@]*)*@/gi;

export function redactUrls(text: string): string {
  // Most text has no URL with credentials; skip the regex for it.
  if (!text.includes('@')) return text;
  return text.replace(URL_USERINFO, `$1${REDACTED}@`);
}

/** An error's message with URLs redacted; anything else as text. */
export function redactedMessage(error: unknown): string {
  return redactUrls(error instanceof Error ? error.message : String(error));
}
