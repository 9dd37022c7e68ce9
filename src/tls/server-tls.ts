/**
 * The certificates of one listener's `tls:` section, as SecureContexts ready for new
 * handshakes: the default one and those chosen by SNI. `reload()` reads the files again
 * and swaps the whole set in one assignment when every file is good; when one is not (key
 * does not match, expired, unreadable) the old set stays and the caller logs why.
 */
import type { SecureContext, SecureContextOptions } from 'node:tls';
import type { ListenerConfig } from '../config/schema.js';
import type { ListenerTlsConfig } from '../config/tls-schema.js';
import { type KeyPair, readCaBundle, readKeyPair } from './pem.js';
import { ServerNameTable } from './server-names.js';

export interface ServerCertificates {
  /** For tls.Server's own context (clients that send no SNI). */
  readonly defaultOptions: SecureContextOptions;
  readonly defaultContext: SecureContext;
  readonly byName: ServerNameTable<SecureContext>;
  /** Every pair in use, the default first (expiry metrics, logs). */
  readonly pairs: readonly KeyPair[];
}

/** The `tls:` a listener terminates with: tcp and http listeners may have one (tls passes through, udp has none). */
export function terminatedTls(listener: ListenerConfig): ListenerTlsConfig | undefined {
  return listener.protocol === 'tcp' || listener.protocol === 'http' ? listener.tls : undefined;
}

/** Every file a listener's TLS reads (what rotation watches). */
export function listenerTlsFiles(config: ListenerTlsConfig): string[] {
  const files = [
    config.certificate,
    config.key,
    ...config.certificates.flatMap((c) => [c.certificate, c.key]),
  ];
  if (config.ca !== undefined) files.push(config.ca);
  return [...new Set(files)];
}

export async function loadServerCertificates(config: ListenerTlsConfig): Promise<ServerCertificates> {
  const ca = config.ca === undefined ? undefined : (await readCaBundle(config.ca)).pem;
  const shared: SecureContextOptions = { minVersion: config.minVersion };
  if (ca !== undefined) shared.ca = ca;
  if (config.ciphers !== undefined) shared.ciphers = config.ciphers;
  const pairs = await Promise.all([
    readKeyPair(config.certificate, config.key),
    ...config.certificates.map((c) => readKeyPair(c.certificate, c.key)),
  ]);
  const options = (pair: KeyPair): SecureContextOptions => ({
    ...shared,
    cert: pair.certificate,
    key: pair.key,
  });
  const defaultOptions = options(pairs[0]!);
  const { createSecureContext } = process.getBuiltinModule('node:tls');
  const defaultContext = createSecureContext(defaultOptions);
  const byName = new ServerNameTable<SecureContext>();
  config.certificates.forEach((entry, i) => {
    const context = createSecureContext(options(pairs[i + 1]!));
    for (const name of entry.names) byName.add(name, context);
  });
  return { defaultOptions, defaultContext, byName, pairs };
}

/** A listener's certificates as they are now; shared by every handler generation with the same `tls:`. */
export class ServerTls {
  private readonly changeListeners = new Set<(next: ServerCertificates) => void>();

  private constructor(
    readonly config: ListenerTlsConfig,
    private state: ServerCertificates,
  ) {}

  /** Throws a TlsFileError (naming the file) when a file is missing or bad. */
  static async load(config: ListenerTlsConfig): Promise<ServerTls> {
    return new ServerTls(config, await loadServerCertificates(config));
  }

  get current(): ServerCertificates {
    return this.state;
  }

  get files(): string[] {
    return listenerTlsFiles(this.config);
  }

  /** Reads the files again; swaps only when all are good, else throws and keeps the current set. */
  async reload(): Promise<ServerCertificates> {
    const next = await loadServerCertificates(this.config);
    this.state = next;
    for (const listener of this.changeListeners) listener(next);
    return next;
  }

  onChange(listener: (next: ServerCertificates) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }
}
