/**
 * Expected HTTP status ranges for health checks. Zod-free, so the health probes can use it
 * without loading the schema into the proxy's thread.
 */
import type { Parsed } from './values.js';

/** "200-399" → [200, 399]; "204" or 204 → [204, 204]. */
export function parseStatusRange(input: string | number): Parsed<readonly [number, number]> {
  const text = String(input).trim();
  const match = /^(\d{3})(?:\s*-\s*(\d{3}))?$/.exec(text);
  if (!match) {
    return { ok: false, message: `invalid status "${text}"; write a code (200) or a range ("200-399")` };
  }
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  if (from < 100 || to > 599) return { ok: false, message: `status "${text}" is outside 100-599` };
  if (from > to)
    return { ok: false, message: `status range "${text}" is backwards; write the lower code first` };
  return { ok: true, value: [from, to] };
}
