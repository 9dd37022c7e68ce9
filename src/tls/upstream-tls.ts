/**
 * A cluster's `tls:` section as the upstream connections use it: one SecureContext (CA,
 * client certificate) rebuilt when its files rotate, the options for each connection
 * (SNI, verification, ALPN), and the last TLS session of each endpoint so that a pool's
 * next connection resumes instead of paying a full handshake.
 */
import { isIP } from 'node:net';
import type {
  ConnectionOptions,
  PeerCertificate,
  SecureContext,
  SecureContextOptions,
  TLSSocket,
} from 'node:tls';
import type { ClusterTlsConfig } from '../config/tls-schema.js';
import type { Logger } from '../core/log.js';
import type { UpstreamError } from '../l7/h1/upstream-user.js';
import { allowedIdentity } from './peer-identity.js';
import { type KeyPair, readCaBundle, readKeyPair } from './pem.js';
import { upstreamTlsError } from './upstream-tls-errors.js';

/** Endpoints whose session is remembered, at most (a cap, not a cache policy). */
const MAX_SESSIONS = 1024;
/** The same failure of the same endpoint is logged at most this often. */
const FAILURE_LOG_INTERVAL_MS = 10_000;

let nextId = 1;

/** The last failed handshake, for `/clusters`. */
export interface TlsFailure {
  endpoint: string;
  reason: string;
  at: number;
}

export interface ClientMaterial {
  readonly context: SecureContext;
  readonly pair: KeyPair | undefined;
  /** The client pair as a list (for checks that treat every section alike). */
  readonly pairs: readonly KeyPair[];
}

/** Every file a cluster's TLS reads (what rotation watches). */
export function clusterTlsFiles(c: ClusterTlsConfig): string[] {
  return [c.ca, c.certificate, c.key].filter((f): f is string => f !== undefined);
}

export async function loadClientMaterial(config: ClusterTlsConfig): Promise<ClientMaterial> {
  const options: SecureContextOptions = { minVersion: config.minVersion };
  if (config.ca !== undefined) options.ca = (await readCaBundle(config.ca)).pem;
  let pair: KeyPair | undefined;
  if (config.certificate !== undefined && config.key !== undefined) {
    pair = await readKeyPair(config.certificate, config.key);
    options.cert = pair.certificate;
    options.key = pair.key;
  }
  return {
    context: process.getBuiltinModule('node:tls').createSecureContext(options),
    pair,
    pairs: pair ? [pair] : [],
  };
}

export class UpstreamTls {
  /** Pools are keyed by it: connections made with another TLS config are never reused for this one. */
  readonly id = nextId++;
  private readonly sessions = new Map<string, Buffer>();
  private readonly identityCheck: ConnectionOptions['checkServerIdentity'];
  /** `endpoint reason` → when it was last logged. */
  private readonly logged = new Map<string, number>();
  lastFailure: TlsFailure | undefined;

  private constructor(
    readonly config: ClusterTlsConfig,
    private material: ClientMaterial,
    private readonly log: Logger,
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
    } else this.identityCheck = process.getBuiltinModule('node:tls').checkServerIdentity;
  }

  /** Throws a TlsFileError (naming the file) when a file is missing or bad. */
  static async load(config: ClusterTlsConfig, log: Logger): Promise<UpstreamTls> {
    return new UpstreamTls(config, await loadClientMaterial(config), log);
  }

  get files(): string[] {
    return clusterTlsFiles(this.config);
  }

  get pairs(): readonly KeyPair[] {
    return this.material.pairs;
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

  /** A handshake with an endpoint failed: logged with its reason (at most every 10 s per endpoint and reason). */
  handshakeFailed(error: Error, host: string, port: number): UpstreamError & { reason: string } {
    const failure = upstreamTlsError(error);
    const endpoint = `${host}:${port}`;
    const now = Date.now();
    this.lastFailure = { endpoint, reason: failure.reason, at: now };
    const key = `${endpoint} ${failure.reason}`;
    if (now - (this.logged.get(key) ?? 0) >= FAILURE_LOG_INTERVAL_MS) {
      if (this.logged.size >= MAX_SESSIONS) this.logged.clear();
      this.logged.set(key, now);
      this.log.warn(
        { endpoint, reason: failure.reason, err: error.message },
        'upstream TLS handshake failed',
      );
    }
    return failure;
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
