/**
 * Bearer-token check for the admin API. The comparison takes the same time whatever the
 * input, so the token cannot be guessed byte by byte from response times.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (text: string) => createHash('sha256').update(text).digest();

export function bearerMatches(request: IncomingMessage, token: string): boolean {
  const header = request.headers.authorization ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!match) return false;
  // Hashing first gives equal-length buffers, which timingSafeEqual requires.
  return timingSafeEqual(digest(match[1]!), digest(token));
}
