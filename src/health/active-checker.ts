/**
 * Active health checks for one cluster: one probe loop per endpoint, each on its own
 * jittered timer. A loop waits for its probe to finish before it schedules the next, so
 * checks of one endpoint never overlap. The checker follows the cluster's endpoint list
 * (new endpoints get a loop, removed ones lose theirs) and stops every loop when the
 * cluster is removed or a reload replaces its health config. Counters live in the
 * HealthRegistry, so a replacing checker continues them.
 */
import type { Cluster } from '../core/cluster.js';
import { type Endpoint, Unavailable } from '../core/endpoint.js';
import { PROBE_OUT_OF_RESOURCES, type Probe, type ProbeResult } from './probes.js';
import type { HealthRegistry } from './registry.js';
import type { HealthReporter } from './reporter.js';

export interface ActiveCheckSettings {
  intervalMs: number;
  timeoutMs: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
  /** Each wait is interval ± this percentage, so checks of many endpoints spread out. */
  jitterPercent: number;
  probe: Probe;
}

export class ActiveChecker {
  private readonly loops = new Map<string, ProbeLoop>();
  private seen: readonly Endpoint[] | undefined;
  private stopped = false;

  constructor(
    private readonly cluster: Cluster,
    readonly settings: ActiveCheckSettings,
    readonly reporter: HealthReporter,
    readonly registry: HealthRegistry,
    readonly random: () => number = Math.random,
  ) {}

  /**
   * Starts a loop for each endpoint the cluster has now and stops loops of endpoints it no
   * longer has. Cheap when nothing changed: discovery replaces the list, never edits it.
   */
  sync(): void {
    const endpoints = this.cluster.endpoints;
    if (this.stopped || endpoints === this.seen) return;
    this.seen = endpoints;
    const present = new Set<string>();
    for (const endpoint of endpoints) {
      present.add(endpoint.id);
      const loop = this.loops.get(endpoint.id);
      if (loop) loop.endpoint = endpoint;
      else {
        const created = new ProbeLoop(endpoint, this);
        this.loops.set(endpoint.id, created);
        created.start();
      }
    }
    for (const [id, loop] of this.loops) {
      if (present.has(id)) continue;
      loop.stop();
      this.loops.delete(id);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const loop of this.loops.values()) loop.stop();
    this.loops.clear();
  }

  /** Probe loops running now (for tests and the admin API). */
  get size(): number {
    return this.loops.size;
  }

  jittered(ms: number): number {
    const spread = (ms * this.settings.jitterPercent) / 100;
    return Math.max(0, ms + spread * (2 * this.random() - 1));
  }
}

class ProbeLoop {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: AbortController | undefined;
  private stopped = false;

  constructor(
    public endpoint: Endpoint,
    private readonly checker: ActiveChecker,
  ) {}

  start(): void {
    // First check soon (a cold start needs to learn quickly), spread by the jitter.
    const { intervalMs, jitterPercent } = this.checker.settings;
    this.schedule(this.checker.random() * ((intervalMs * jitterPercent) / 100));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.inFlight?.abort();
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => void this.run(), delayMs);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    // Notice a removed endpoint (or a new one) even if nobody called sync().
    this.checker.sync();
    if (this.stopped) return;
    const { probe, timeoutMs, intervalMs } = this.checker.settings;
    const startedAt = performance.now();
    const abort = new AbortController();
    this.inFlight = abort;
    let result: ProbeResult;
    try {
      result = await probe(this.endpoint, timeoutMs, abort.signal);
    } catch (error) {
      result = { ok: false, reason: `probe-error: ${(error as Error).message}` };
    }
    this.inFlight = undefined;
    if (this.stopped) return;
    // The proxy's own fd limit is no verdict on the endpoint: neither a pass nor a failure.
    if (result.ok || result.reason !== PROBE_OUT_OF_RESOURCES) this.record(result);
    const elapsed = performance.now() - startedAt;
    this.schedule(Math.max(0, this.checker.jittered(intervalMs) - elapsed));
  }

  private record(result: ProbeResult): void {
    const { reporter, registry, settings } = this.checker;
    const endpoint = this.endpoint;
    const memory = registry.memoryFor(endpoint).active;
    const down = (endpoint.state.flags & Unavailable.ActiveCheckFailed) !== 0;
    // Only the first result any checker records for the endpoint decides at once.
    const first = !memory.checked;
    memory.checked = true;
    if (result.ok) {
      memory.consecutiveFailures = 0;
      memory.consecutiveSuccesses++;
      if (down && (first || memory.consecutiveSuccesses >= settings.healthyThreshold)) {
        const why = first
          ? 'first health check passed'
          : `${memory.consecutiveSuccesses} health checks passed`;
        reporter.set(endpoint, Unavailable.ActiveCheckFailed, false, why);
      }
    } else {
      memory.consecutiveSuccesses = 0;
      memory.consecutiveFailures++;
      if (!down && memory.consecutiveFailures >= settings.unhealthyThreshold) {
        const why = `${memory.consecutiveFailures} health checks failed: ${result.reason}`;
        reporter.set(endpoint, Unavailable.ActiveCheckFailed, true, why);
      }
    }
  }
}
