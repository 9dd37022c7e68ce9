/**
 * The client's request body as the forwarder sees it: absent, kept in memory (small enough
 * for a retry to resend), or streamed from the socket (sendable once, and only while unread).
 */
import type { IncomingMessage } from 'node:http';
import type { RetryPolicy } from './retry-policy.js';
import { isIdempotent } from './retry-policy.js';

export type RequestBody = IncomingMessage | Buffer | null;

export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Worth keeping in memory: idempotent, retries after sending are configured, and it is small. */
export function worthBuffering(req: IncomingMessage, policy: RetryPolicy): boolean {
  if (!policy.retriesAfterSending || !isIdempotent(req.method ?? 'GET')) return false;
  const length = Number(req.headers['content-length']);
  return Number.isFinite(length) && length <= policy.bufferLimit;
}

/** Reads the whole (already size-checked) body; `onBody` is not called if the client goes away. */
export function readWholeBody(req: IncomingMessage, onBody: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
  });
  req.once('end', () => onBody(Buffer.concat(chunks)));
}

/** True while the body can still be sent in full: none, in memory, or a stream nobody read yet. */
export function bodyUntouched(body: RequestBody): boolean {
  return body === null || Buffer.isBuffer(body) || !body.readableDidRead;
}
