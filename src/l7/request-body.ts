/**
 * Which request bodies are kept in memory so that a retry can send them again: small
 * ones (known content-length up to `retries.bufferLimit`) of idempotent requests on routes
 * that retry after sending. Larger or chunked bodies stream straight through and can only
 * be retried while none of their bytes were read (a connect failure).
 */
import type { RequestHead } from './h1/request-head.js';
import { isIdempotent, type RetryPolicy } from './retry-policy.js';

export function worthBuffering(head: RequestHead, policy: RetryPolicy): boolean {
  if (!policy.retriesAfterSending || !isIdempotent(head.method)) return false;
  return !head.chunked && head.contentLength <= policy.bufferLimit;
}
