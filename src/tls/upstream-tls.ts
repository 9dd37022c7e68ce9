/**
 * A cluster's `tls:` section as the upstream connections use it: one SecureContext (CA,
 * client certificate) rebuilt when its files rotate, the options for each connection
 * (SNI, verification, ALPN), and the last TLS session of each endpoint so that a pool's
 * next connection resumes instead of paying a full handshake.
 */
import { isIP } from 'node:net';
import {
  type ConnectionOptions,
  checkServerIdentity,
  createSecureContext,
  type PeerCertificate,
  type SecureContext,
  type SecureContextOptions,
  type TLSSocket,
} from 'node:tls';
import type { ClusterTlsConfig } from '../config/tls-schema.js';
import { allowedIdentity } from './peer-identity.js';
import { type KeyPair, readCaBundle, readKeyPair } from './pem.js';

/** Endpoints whose session is remembered, at most (a cap, not a cache policy). */
const MAX_SESSIONS = 1024;

interface ClientMaterial {
  readonly context: SecureContext;
  readonly pair: KeyPair | undefined;
}

async function loadClientMaterial(config: ClusterTlsConfig): Promise<ClientMaterial> {
  const options: SecureContextOptions = { minVersion: config.minVersion };
  if (config.ca !== undefined) options.ca = (await readCaBundle(config.ca)).pem;
  let pair: KeyPair | undefined;
  if (config.certificate !== undefined && config.key !== undefined) {
    pair = await readKeyPair(config.certificate, config.key);
    options.cert = pair.certificate;
    options.key = pair.key;
  }
  return { context: createSecureContext(options), pair };
}

export class UpstreamTls {
  private readonly sessions = new Map<string, Buffer>();
  private readonly identityCheck: ConnectionOptions['checkServerIdentity'];

  private constructor(
    readonly config: ClusterTlsConfig,
    private material: ClientMaterial,
  ) {
    const allowed = config.subjectAltNames;
    if (allowed.length > 0) {
      // An allow-list replaces the host name check: mesh identities (SPIFFE URIs) are not host names.
      this.identityCheck = (_host: string, certificate: PeerCertificate) => {
        if (allowedIdentity(certificate, allowed) !== undefined) return undefined;
        return Object.assign(
          new Error(`certificate names ${certificate.subjectaltname ?? 'nothing'}, none in subjectAltNames`),
          { code: 'PORTSIDE_TLS_IDENTITY' },
        );
      };
    } else this.identityCheck = checkServerIdentity;
  }

  /** Throws a TlsFileError (naming the file) when a file is missing or bad. */
  static async load(config: ClusterTlsConfig): Promise<UpstreamTls> {
    return new UpstreamTls(config, await loadClientMaterial(config));
  }

  get files(): string[] {
    const c = this.config;
    return [c.ca, c.certificate, c.key].filter((f): f is string => f !== undefined);
  }

  get pairs(): KeyPair[] {
    return this.material.pair ? [this.material.pair] : [];
  }

  /** Reads the files again; swaps only when all are good (else throws). Sessions of the old context are dropped. */
  async reload(): Promise<void> {
    this.material = await loadClientMaterial(this.config);
    this.sessions.clear();
  }

  /**
   * Options for `tls.connect` (or http2's) to one endpoint. `alpn`: what the connection's
   * protocol needs when the config does not say.
   */
  connectOptions(host: string, port: number, alpn: string[] | undefined): ConnectionOptions {
    const config = this.config;
    const options: ConnectionOptions = {
      host,
      port,
      secureContext: this.material.context,
      rejectUnauthorized: config.verify,
      checkServerIdentity: this.identityCheck,
    };
    const servername = config.sni ?? (isIP(host) === 0 ? host : undefined);
    if (servername !== undefined) options.servername = servername;
    const protocols = config.alpn ?? alpn;
    if (protocols !== undefined) options.ALPNProtocols = protocols;
    const session = this.sessions.get(`${host}:${port}`);
    if (session !== undefined) options.session = session;
    return options;
  }

  /** Keeps the socket's TLS sessions (TLS 1.3 sends them after the handshake) for the endpoint's next connection. */
  rememberSessions(socket: TLSSocket, host: string, port: number): void {
    const key = `${host}:${port}`;
    socket.on('session', (session: Buffer) => {
      if (this.sessions.size >= MAX_SESSIONS && !this.sessions.has(key)) return;
      this.sessions.set(key, session);
    });
  }
}
