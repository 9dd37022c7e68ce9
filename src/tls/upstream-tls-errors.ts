/**
 * A TLS handshake with an endpoint that failed, as one error code the retry policy and the
 * `upstream-tls` answer know, with a short reason for logs: OpenSSL's verification codes
 * and Node's name check turned into words an operator recognises.
 */
import { upstreamError } from '../l7/h1/upstream-user.js';

export const UPSTREAM_TLS_CODE = 'PORTSIDE_UPSTREAM_TLS';

const REASONS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown CA',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'unknown CA',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'unknown CA (self-signed certificate)',
  CERT_SIGNATURE_FAILURE: 'unknown CA (bad signature)',
  CERT_HAS_EXPIRED: 'certificate expired',
  CERT_NOT_YET_VALID: 'certificate not yet valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'name mismatch',
  PORTSIDE_TLS_IDENTITY: 'identity not in subjectAltNames',
};

/** A short reason for a handshake error: "unknown CA", "certificate expired", "name mismatch"… */
export function tlsFailureReason(error: Error & { code?: string }): string {
  const code = error.code ?? '';
  const reason = REASONS[code];
  if (reason !== undefined) return reason;
  if (code.startsWith('ERR_SSL_')) return code.slice(8).toLowerCase().replace(/_/g, ' ');
  return code === '' ? error.message : code;
}

/** The error an upstream connection reports when its handshake failed; `reason` for the log. */
export function upstreamTlsError(cause: Error & { code?: string }): Error & { code: string; reason: string } {
  const reason = tlsFailureReason(cause);
  return Object.assign(
    upstreamError(UPSTREAM_TLS_CODE, `upstream TLS handshake failed: ${reason} (${cause.message})`),
    {
      reason,
    },
  );
}
