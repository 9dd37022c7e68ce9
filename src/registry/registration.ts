/**
 * One application announced in etcd: a lease of `ttl`, the key on that lease, and a
 * heartbeat every third of the ttl while the application's check passes. Each heartbeat
 * renews the lease and checks that the key is still there, so a lease that etcd lost (a
 * restored or replaced cluster, an outage longer than the ttl) or a key someone deleted is
 * written again without a restart. A failing check or stop() withdraws the entry at once:
 * delete, then revoke. If etcd cannot be reached then, the lease expires on its own within
 * the ttl, because nothing renews it any more.
 *
 * Every etcd step runs one at a time on a queue, so a heartbeat and a withdrawal never
 * interleave.
 */
import type { RegistrationConfig } from '../config/registry-schema.js';
import { formatAddress, ms } from '../config/values.js';
import type { Locality } from '../core/endpoint.js';
import type { Logger } from '../core/log.js';
import { redactedMessage } from '../core/secrets.js';
import type { ProbeTarget } from '../health/probes.js';
import { b64, type EtcdClient, EtcdError, GRPC_NOT_FOUND } from './etcd-client.js';
import { LocalCheck } from './local-check.js';

/** Retry delay after a failed etcd call, doubling up to the heartbeat interval. */
const FIRST_RETRY_MS = 100;

export type RegistrationState = 'waiting-for-check' | 'registered' | 'withdrawn' | 'etcd-unreachable';

/** The etcd key of an entry: `<prefix><service>/<id>`, id defaulting to address:port. */
export function registrationKey(prefix: string, entry: RegistrationConfig): string {
  return `${prefix}${entry.service}/${entry.id ?? formatAddress({ host: entry.address, port: entry.port })}`;
}

/**
 * The value `discovery.etcd` parses (discovery/etcd.ts parseRegistration). Locality defaults
 * to this Portside's own: an agent announces the applications of its node.
 */
export function registrationValue(entry: RegistrationConfig, self: Locality): string {
  return JSON.stringify({
    address: formatAddress({ host: entry.address, port: entry.port }),
    weight: entry.weight,
    node: entry.node ?? self.node,
    zone: entry.zone ?? self.zone,
    metadata: entry.metadata,
  });
}

/** The local application, as a health probe sees it. */
export function probeTarget(entry: RegistrationConfig): ProbeTarget {
  return {
    host: entry.address,
    port: entry.port,
    id: formatAddress({ host: entry.address, port: entry.port }),
  };
}

export class Registration {
  readonly key: string;
  state: RegistrationState = 'waiting-for-check';
  /** Set when the last etcd call failed. */
  lastError: string | undefined;
  private readonly value: string;
  private readonly ttlSeconds: number;
  private readonly check: LocalCheck | undefined;
  private wanted: boolean;
  private leaseId: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryMs = FIRST_RETRY_MS;
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    readonly entry: RegistrationConfig,
    prefix: string,
    self: Locality,
    private readonly client: EtcdClient,
    private readonly log: Logger,
  ) {
    this.key = registrationKey(prefix, entry);
    this.value = registrationValue(entry, self);
    this.ttlSeconds = ms(entry.ttl) / 1000;
    this.wanted = !entry.healthCheck;
    if (entry.healthCheck) {
      this.check = new LocalCheck(probeTarget(entry), entry.healthCheck, (healthy, reason) =>
        this.checkChanged(healthy, reason),
      );
    }
  }

  /** True when this registration writes the same key and value with the same lease and check. */
  sameAs(other: Registration): boolean {
    return (
      this.key === other.key &&
      this.value === other.value &&
      this.ttlSeconds === other.ttlSeconds &&
      JSON.stringify(this.entry.healthCheck) === JSON.stringify(other.entry.healthCheck)
    );
  }

  start(): void {
    if (this.check) this.check.start();
    else this.schedule(0);
  }

  /** Writes the entry once on a lease nobody renews: it expires `ttl` from now (`register --once`). */
  async registerOnce(): Promise<void> {
    await this.register();
  }

  /** Stops the heartbeat and withdraws the entry (delete + revoke); `keep` leaves it to expire. */
  async stop(options: { keep?: boolean } = {}): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.check?.stop();
    await this.enqueue(async () => {
      if (!options.keep) await this.withdraw('stopped');
    });
  }

  private checkChanged(healthy: boolean, reason: string | undefined): void {
    this.wanted = healthy;
    if (healthy) {
      this.log.info({ service: this.entry.service, key: this.key }, 'local check passes; registering');
      this.schedule(0);
    } else {
      this.log.warn({ service: this.entry.service, key: this.key, reason }, 'local check fails; withdrawing');
      clearTimeout(this.timer);
      void this.enqueue(() => this.withdraw(`check failed: ${reason}`));
    }
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.enqueue(() => this.heartbeat()), delayMs);
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step, step);
    return this.queue;
  }

  /** Registers when there is no lease, else renews it; then schedules the next beat. */
  private async heartbeat(): Promise<void> {
    if (this.stopped || !this.wanted) return;
    const intervalMs = (this.ttlSeconds * 1000) / 3;
    try {
      if (this.leaseId === undefined || !(await this.renew())) await this.register();
      if (this.lastError) {
        this.log.info({ service: this.entry.service, key: this.key }, 'etcd reachable again');
      }
      this.lastError = undefined;
      this.retryMs = FIRST_RETRY_MS;
      this.schedule(intervalMs);
    } catch (error) {
      const first = this.lastError === undefined;
      this.lastError = redactedMessage(error);
      this.state = 'etcd-unreachable';
      // One warning per outage, not one per retry.
      if (first) {
        this.log.warn(
          { service: this.entry.service, key: this.key, err: this.lastError },
          'cannot reach etcd; retrying (the entry expires if the outage outlasts its ttl)',
        );
      }
      this.schedule(this.retryMs * (0.8 + Math.random() * 0.4));
      this.retryMs = Math.min(this.retryMs * 2, intervalMs);
    }
  }

  /** Renews the lease; false when etcd no longer has it or the key is gone. */
  private async renew(): Promise<boolean> {
    // etcd answers a lease it does not know with TTL 0 (3.4), or with NotFound.
    type KeepAlive = { result?: { TTL?: string } };
    const kept = await this.client
      .call<KeepAlive>('/v3/lease/keepalive', { ID: this.leaseId })
      .catch((error: unknown): KeepAlive => {
        if (error instanceof EtcdError && error.grpcCode === GRPC_NOT_FOUND) return {};
        throw error;
      });
    if (!Number(kept.result?.TTL)) {
      this.log.warn({ service: this.entry.service, key: this.key }, 'lease lost; registering again');
      this.leaseId = undefined;
      return false;
    }
    const found = await this.client.call<{ count?: string }>('/v3/kv/range', {
      key: b64(this.key),
      count_only: true,
    });
    if (Number(found.count ?? 0) === 0) {
      this.log.warn(
        { service: this.entry.service, key: this.key },
        'entry missing from etcd; writing it again',
      );
      await this.put();
    }
    this.state = 'registered';
    return true;
  }

  private async register(): Promise<void> {
    const granted = await this.client.call<{ ID?: string }>('/v3/lease/grant', { TTL: this.ttlSeconds });
    if (!granted.ID) throw new Error('etcd lease grant: no lease id in the answer');
    this.leaseId = granted.ID;
    await this.put();
    this.state = 'registered';
    this.log.info(
      { service: this.entry.service, key: this.key, ttl: this.entry.ttl, etcd: this.client.endpoint },
      'registered',
    );
  }

  private async put(): Promise<void> {
    await this.client.call('/v3/kv/put', { key: b64(this.key), value: b64(this.value), lease: this.leaseId });
  }

  private async withdraw(reason: string): Promise<void> {
    const lease = this.leaseId;
    this.leaseId = undefined;
    if (this.state !== 'registered' && this.state !== 'etcd-unreachable') {
      this.state = 'withdrawn';
      return;
    }
    this.state = 'withdrawn';
    try {
      // Delete first: watchers see the entry go even if the revoke is lost.
      await this.client.call('/v3/kv/deleterange', { key: b64(this.key) });
      if (lease) await this.client.call('/v3/lease/revoke', { ID: lease });
      this.log.info({ service: this.entry.service, key: this.key, reason }, 'withdrawn');
    } catch (error) {
      this.log.warn(
        { service: this.entry.service, key: this.key, err: redactedMessage(error), ttl: this.entry.ttl },
        'cannot withdraw from etcd; the entry expires with its lease',
      );
    }
  }
}
