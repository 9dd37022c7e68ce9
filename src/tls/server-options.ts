/**
 * What every TLS server of Portside (listeners and the admin API) sets up alike from a
 * listener-style `tls:` section: the `tls.Server` options that read the current certificates
 * at each handshake, and the client check after it (a presented certificate must verify,
 * and the allow-list, when there is one, must name it).
 */
import type { TLSSocket, TlsOptions } from 'node:tls';
import { allowedIdentity } from './peer-identity.js';
import type { ServerTls } from './server-tls.js';

/** A client gets this long to complete its handshake. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Options for `tls.createServer`/`https.createServer`; `defaultAlpn` when `tls.alpn` is not set. */
export function serverTlsOptions(tls: ServerTls, defaultAlpn?: string[]): TlsOptions {
  const config = tls.config;
  const options: TlsOptions = {
    ...tls.current.defaultOptions,
    requestCert: config.clientCertificate !== 'none',
    rejectUnauthorized: config.clientCertificate === 'require',
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    // Read at each handshake: a rotation is one assignment in ServerTls.
    SNICallback: (name, callback) => {
      const current = tls.current;
      callback(null, current.byName.find(name) ?? current.defaultContext);
    },
  };
  const alpn = config.alpn ?? defaultAlpn;
  if (alpn !== undefined) options.ALPNProtocols = alpn;
  return options;
}

/** Why the client of a completed handshake is refused, or undefined when it may go on. */
export function clientRefusal(tls: ServerTls, socket: TLSSocket): string | undefined {
  const config = tls.config;
  if (config.clientCertificate === 'none') return undefined;
  const certificate = socket.getPeerCertificate();
  const presented = certificate !== null && Object.keys(certificate).length > 0;
  if (presented && !socket.authorized)
    return `client certificate not accepted (${socket.authorizationError})`;
  if (config.allowedClients.length === 0) return undefined;
  if (!presented) return 'no client certificate; allowedClients needs one';
  if (allowedIdentity(certificate, config.allowedClients) === undefined) {
    return `client identity not allowed (${certificate.subjectaltname ?? 'no subjectAltName'})`;
  }
  return undefined;
}
