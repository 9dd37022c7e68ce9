/**
 * The `register:` entries of the running config: one Registration each, sharing one etcd
 * client. A reload keeps the entries it did not change (their leases and checks carry on),
 * withdraws the ones it removed and starts the new ones. Owned by `portside run` beside the
 * proxy, not by it: what this node announces does not route anything.
 */

import { resolveSelfLocality } from '../balancing/locality.js';
import { etcdPassword } from '../config/etcd-password.js';
import type { EtcdRegistryConfig, RegistrationConfig } from '../config/registry-schema.js';
import type { Config } from '../config/schema.js';
import { ms } from '../config/values.js';
import type { Locality } from '../core/endpoint.js';
import type { Logger } from '../core/log.js';
import { EtcdClient } from './etcd-client.js';
import { Registration } from './registration.js';

/** `registry.etcd` when the config has no `registry` section: a local etcd. */
export const DEFAULT_ETCD: EtcdRegistryConfig = {
  endpoints: ['http://127.0.0.1:2379'],
  prefix: '/services/',
  timeout: '5s',
};

export function etcdClient(etcd: EtcdRegistryConfig): EtcdClient {
  return new EtcdClient({
    endpoints: etcd.endpoints,
    username: etcd.username,
    password: etcdPassword(etcd),
    timeoutMs: ms(etcd.timeout),
    tls: etcd.tls,
  });
}

type RegistrySettings = Pick<Config, 'register' | 'registry' | 'node'>;

export class Registrar {
  private registrations = new Map<string, Registration>();
  private client: EtcdClient | undefined;
  private clientSettings = '';
  private stopped = false;
  private stopping: Promise<void> | undefined;
  /** Applies run one at a time, as the proxy's do. */
  private applying: Promise<void> = Promise.resolve();

  constructor(private readonly log: Logger) {}

  /** The entries now, for the admin API and tests. */
  get entries(): Registration[] {
    return [...this.registrations.values()];
  }

  /** Starts, changes or withdraws entries to match `config`. */
  apply(config: RegistrySettings): Promise<void> {
    const run = this.applying.then(() => this.applyNow(config));
    this.applying = run.catch(() => {});
    return run;
  }

  private async applyNow(config: RegistrySettings): Promise<void> {
    if (this.stopped) return;
    const etcd = config.registry?.etcd ?? DEFAULT_ETCD;
    const settings = JSON.stringify(etcd);
    const previous = this.registrations;
    let client = this.client;
    if (!client || settings !== this.clientSettings) {
      if (config.register.length === 0 && previous.size === 0) return;
      client = etcdClient(etcd);
      if (etcd.tls?.verify === false) {
        this.log.warn(
          { endpoints: etcd.endpoints },
          'registry.etcd.tls.verify is false: any certificate is accepted from etcd',
        );
      }
    }
    const next = new Map<string, Registration>();
    for (const entry of config.register) {
      const created = this.create(entry, etcd.prefix, resolveSelfLocality(config.node), client);
      const kept = previous.get(created.key);
      const unchanged = kept !== undefined && client === this.client && kept.sameAs(created);
      next.set(created.key, unchanged ? kept : created);
    }
    const retiring: Promise<void>[] = [];
    for (const [key, old] of previous) {
      const replacement = next.get(key);
      if (replacement === old) continue;
      // An entry whose key stays is overwritten by its replacement: withdrawing it first
      // would make it disappear from every watcher for a moment.
      retiring.push(old.stop({ keep: replacement !== undefined }));
    }
    await Promise.all(retiring);
    if (client !== this.client) this.client?.close();
    this.client = client;
    this.clientSettings = settings;
    this.registrations = next;
    for (const registration of next.values())
      if (previous.get(registration.key) !== registration) registration.start();
  }

  /** Withdraws every entry (SIGTERM, drain); every caller waits for the same withdrawal. */
  stop(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  private async stopNow(): Promise<void> {
    this.stopped = true;
    await this.applying;
    await Promise.all(this.entries.map((r) => r.stop()));
    this.client?.close();
  }

  private create(entry: RegistrationConfig, prefix: string, self: Locality, client: EtcdClient) {
    return new Registration(entry, prefix, self, client, this.log.child({ component: 'register' }));
  }
}
