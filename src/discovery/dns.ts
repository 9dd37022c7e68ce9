/**
 * DNS discovery: A, AAAA or SRV records, re-resolved when their TTL expires (bounded by
 * minRefresh/maxRefresh) or on a fixed interval. A failed refresh keeps the last good answer
 * (static stability), marks the source stale and says so in the log.
 */
import type { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from '../core/log.js';
import { type DiscoveredEndpoint, type DiscoverySource, sortEndpoints } from './source.js';

export interface DnsSourceOptions {
  name: string;
  type: 'A' | 'AAAA' | 'SRV';
  /** Upstream port for A/AAAA answers. */
  port?: number;
  /** Fixed refresh interval; when absent, the answer's TTL within [minRefreshMs, maxRefreshMs]. */
  refreshMs?: number;
  minRefreshMs: number;
  maxRefreshMs: number;
  timeoutMs: number;
  /** `host:port` DNS servers; default: the system's. */
  servers?: readonly string[];
  logger: Logger;
  /** Last good answers shared with other sources (a changed cluster's new source); default: its own. */
  answers?: DnsAnswers;
}

interface Answer {
  endpoints: DiscoveredEndpoint[];
  /** Smallest TTL in the answer, in seconds; undefined when DNS gave none (SRV). */
  ttlSeconds: number | undefined;
}

/**
 * The last good answer per query, owned by the cluster manager: a reload that changes a
 * cluster (its balancing, say) starts a new source for it, which serves this at once instead
 * of leaving the cluster cold until DNS answers. A query is forgotten when the last running
 * source that asks it stops.
 */
export class DnsAnswers {
  private readonly entries = new Map<
    string,
    { endpoints: DiscoveredEndpoint[] | undefined; holders: number }
  >();

  hold(key: string): DiscoveredEndpoint[] | undefined {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { endpoints: undefined, holders: 0 };
      this.entries.set(key, entry);
    }
    entry.holders++;
    return entry.endpoints;
  }

  release(key: string): void {
    const entry = this.entries.get(key);
    if (entry && --entry.holders <= 0) this.entries.delete(key);
  }

  remember(key: string, endpoints: DiscoveredEndpoint[]): void {
    const entry = this.entries.get(key);
    if (entry) entry.endpoints = endpoints;
  }

  /** Queries remembered now. */
  get size(): number {
    return this.entries.size;
  }
}

export class DnsSource implements DiscoverySource {
  synced = false;
  stale = false;
  lastError: string | undefined;
  readonly description: string;
  private readonly resolver: Resolver;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private failuresInARow = 0;
  private readonly answerKey: string;
  private readonly answers: DnsAnswers;

  constructor(private readonly options: DnsSourceOptions) {
    this.description = `dns ${options.type} ${options.name}`;
    this.log = options.logger.child({ discovery: this.description });
    // node:dns/promises is loaded by the first DNS source, not at start (see health/probes.ts).
    const { Resolver } = process.getBuiltinModule('node:dns/promises');
    // tries: 2 so one lost UDP packet is not a failed refresh.
    this.resolver = new Resolver({ timeout: options.timeoutMs, tries: 2 });
    if (options.servers) this.resolver.setServers([...options.servers]);
    this.answerKey = JSON.stringify([options.type, options.name, options.port, options.servers ?? []]);
    this.answers = options.answers ?? new DnsAnswers();
  }

  start(onSnapshot: (endpoints: DiscoveredEndpoint[]) => void): void {
    if (!this.stopped) return;
    this.stopped = false;
    const known = this.answers.hold(this.answerKey);
    if (known) {
      onSnapshot(known);
      this.synced = true;
    }
    void this.refresh(onSnapshot);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.resolver.cancel();
    this.answers.release(this.answerKey);
  }

  private async refresh(onSnapshot: (endpoints: DiscoveredEndpoint[]) => void): Promise<void> {
    let answer: Answer;
    try {
      answer = await this.resolve();
    } catch (error) {
      if (this.stopped) return;
      this.failed(error, onSnapshot);
      return;
    }
    if (this.stopped) return;
    if (this.stale)
      this.log.info({ endpoints: answer.endpoints.length }, 'DNS answers again; no longer stale');
    this.stale = false;
    this.lastError = undefined;
    this.failuresInARow = 0;
    this.answers.remember(this.answerKey, answer.endpoints);
    onSnapshot(answer.endpoints);
    this.synced = true;
    this.schedule(this.nextRefreshMs(answer.ttlSeconds), onSnapshot);
  }

  private failed(error: unknown, onSnapshot: (endpoints: DiscoveredEndpoint[]) => void): void {
    this.failuresInARow++;
    this.lastError = describeDnsError(error);
    this.stale = this.synced;
    const { minRefreshMs, maxRefreshMs } = this.options;
    const retryMs = Math.min(maxRefreshMs, minRefreshMs * 2 ** Math.min(this.failuresInARow - 1, 16));
    this.log.warn(
      { error: this.lastError, failuresInARow: this.failuresInARow, retryInMs: retryMs },
      this.synced
        ? 'DNS refresh failed; keeping the last good endpoints (stale)'
        : 'DNS resolution failed; no endpoints yet',
    );
    this.schedule(retryMs, onSnapshot);
  }

  private schedule(delayMs: number, onSnapshot: (endpoints: DiscoveredEndpoint[]) => void): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.refresh(onSnapshot), delayMs);
    this.timer.unref();
  }

  private nextRefreshMs(ttlSeconds: number | undefined): number {
    const { refreshMs, minRefreshMs, maxRefreshMs } = this.options;
    if (refreshMs !== undefined) return refreshMs;
    const ttlMs = (ttlSeconds ?? 0) * 1000;
    return Math.min(maxRefreshMs, Math.max(minRefreshMs, ttlMs));
  }

  private async resolve(): Promise<Answer> {
    const { type, name, port } = this.options;
    if (type === 'SRV') return this.resolveSrv(name);
    const records = await this.resolveAddresses(name, type);
    return {
      endpoints: sortEndpoints(
        records.map((r) => ({ host: r.address, port: port!, weight: 1, locality: {} })),
      ),
      ttlSeconds: minTtl(records),
    };
  }

  private resolveAddresses(name: string, type: 'A' | 'AAAA') {
    return type === 'A'
      ? this.resolver.resolve4(name, { ttl: true })
      : this.resolver.resolve6(name, { ttl: true });
  }

  /**
   * RFC 2782: the lowest priority value is preferred; higher values are fallbacks, which we
   * mark `terminating` so the cluster uses them only when no preferred endpoint is usable.
   * Weights map to endpoint weights (0, "rarely", becomes the minimum 1).
   */
  private async resolveSrv(name: string): Promise<Answer> {
    const records = await this.resolver.resolveSrv(name);
    if (records.length === 0)
      throw Object.assign(new Error(`no SRV records for ${name}`), { code: 'ENODATA' });
    const best = Math.min(...records.map((r) => r.priority));
    let ttlSeconds: number | undefined;
    const endpoints: DiscoveredEndpoint[] = [];
    const targets = await Promise.allSettled(records.map((r) => this.resolveTarget(r.name)));
    targets.forEach((result, i) => {
      const record = records[i]!;
      if (result.status === 'rejected') {
        this.log.warn(
          { target: record.name, error: describeDnsError(result.reason) },
          'SRV target did not resolve; skipped',
        );
        return;
      }
      for (const target of result.value) {
        if (target.ttl !== undefined) ttlSeconds = Math.min(ttlSeconds ?? target.ttl, target.ttl);
        endpoints.push({
          host: target.address,
          port: record.port,
          weight: Math.max(1, record.weight),
          locality: {},
          ...(record.priority > best ? { terminating: true } : {}),
        });
      }
    });
    if (endpoints.length === 0) throw new Error(`no SRV target of ${name} resolved to an address`);
    return { endpoints: sortEndpoints(endpoints), ttlSeconds };
  }

  /** An SRV target's addresses: IPv4 first, IPv6 when the name has no A record. */
  private async resolveTarget(target: string): Promise<{ address: string; ttl?: number }[]> {
    if (isIP(target)) return [{ address: target }];
    try {
      return await this.resolver.resolve4(target, { ttl: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENODATA') throw error;
      return await this.resolver.resolve6(target, { ttl: true });
    }
  }
}

function minTtl(records: readonly { ttl: number }[]): number | undefined {
  return records.length === 0 ? undefined : Math.min(...records.map((r) => r.ttl));
}

/** `ENOTFOUND web.internal` rather than node's long message. */
function describeDnsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { hostname?: string };
  if (e?.code) return `${e.code}${e.hostname ? ` ${e.hostname}` : ''}`;
  return e instanceof Error ? e.message : String(error);
}
