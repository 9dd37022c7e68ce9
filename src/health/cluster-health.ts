/**
 * Everything health does for one cluster with one health config: the active checker, the
 * outlier detector (as one of the cluster's outcome observers) and the panic guard. The
 * cluster manager keeps it across reloads that leave the cluster's health config alone,
 * and replaces it (stop the old, start this) when that config changes; what must outlive
 * it is in the HealthRegistry and on each EndpointState.
 */
import type { ClusterConfig } from '../config/schema.js';
import { ms } from '../config/values.js';
import type { Cluster } from '../core/cluster.js';
import { Unavailable } from '../core/endpoint.js';
import type { ProxyEvents } from '../core/events.js';
import type { Logger } from '../core/log.js';
import { ActiveChecker } from './active-checker.js';
import { grpcProbe } from './grpc-probe.js';
import { OutlierDetector } from './outlier-detector.js';
import { PanicGuard } from './panic.js';
import { httpProbe, type Probe, tcpProbe } from './probes.js';
import type { HealthRegistry } from './registry.js';
import { HealthReporter } from './reporter.js';

/** Outlive any one ClusterHealth: the cluster manager keeps one of each. */
export interface HealthDeps {
  registry: HealthRegistry;
  events: ProxyEvents;
  log: Logger;
  /**
   * The cluster's one availability writer, shared with its discovery; the owner routes its
   * change callback to this health's panic guard. Default: a reporter of this health's own.
   */
  reporter?: HealthReporter;
  /** How often to re-read the endpoint list and re-count for panic mode (default 1s). */
  refreshIntervalMs?: number;
  random?: () => number;
}

export type ClusterHealthConfig = Pick<ClusterConfig, 'healthCheck' | 'outlierDetection' | 'panicThreshold'>;

export class ClusterHealth {
  readonly checker: ActiveChecker | undefined;
  readonly outliers: OutlierDetector | undefined;
  readonly panic: PanicGuard;
  private readonly reporter: HealthReporter;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cluster: Cluster,
    config: ClusterHealthConfig,
    private readonly deps: HealthDeps,
  ) {
    this.panic = new PanicGuard(cluster, config.panicThreshold, deps.events, deps.log);
    this.reporter =
      deps.reporter ?? new HealthReporter(cluster.name, deps.events, deps.log, () => this.panic.evaluate());
    const check = config.healthCheck;
    if (check) {
      const probe: Probe = check.http ? httpProbe(check.http) : check.grpc ? grpcProbe(check.grpc) : tcpProbe;
      const settings = {
        intervalMs: ms(check.interval),
        timeoutMs: ms(check.timeout),
        unhealthyThreshold: check.unhealthyThreshold,
        healthyThreshold: check.healthyThreshold,
        jitterPercent: check.jitter,
        probe,
      };
      this.checker = new ActiveChecker(cluster, settings, this.reporter, deps.registry, deps.random);
    }
    const od = config.outlierDetection;
    if (od) {
      const settings = {
        consecutiveFailures: od.consecutiveFailures,
        baseEjectionMs: ms(od.baseEjectionTime),
        maxEjectionMs: ms(od.maxEjectionTime),
        maxEjectionPercent: od.maxEjectionPercent,
      };
      this.outliers = new OutlierDetector(cluster, settings, this.reporter, deps.registry);
    }
  }

  start(): void {
    this.panic.adopt();
    this.outliers?.start();
    this.refresh();
    // Without checks there is nothing to catch up with between snapshots (the owner calls
    // refresh() after each); a timer per cluster would wake 10,000 clusters every second.
    if (!this.checker && !this.outliers) return;
    this.timer = setInterval(() => this.refresh(), this.deps.refreshIntervalMs ?? 1000);
    this.timer.unref();
  }

  /**
   * Catches up with the cluster: endpoints added or removed by discovery. Call it after
   * applying a discovery snapshot to react at once; a timer calls it anyway.
   */
  refresh(): void {
    this.checker?.sync();
    this.outliers?.resume();
    this.clearUnownedFlags();
    this.panic.evaluate();
  }

  stop(): void {
    clearInterval(this.timer);
    this.checker?.stop();
    this.outliers?.stop();
  }

  /** A reason whose mechanism this health config turned off must not keep an endpoint out. */
  private clearUnownedFlags(): void {
    if (this.checker && this.outliers) return;
    for (const endpoint of this.cluster.endpoints) {
      if (!this.checker) {
        this.reporter.set(endpoint, Unavailable.ActiveCheckFailed, false, 'active health checks are off');
      }
      if (!this.outliers && (endpoint.state.flags & Unavailable.OutlierEjected) !== 0) {
        this.deps.registry.memoryFor(endpoint).outlier.ejectedUntil = undefined;
        this.reporter.set(endpoint, Unavailable.OutlierEjected, false, 'outlier detection is off');
      }
    }
  }
}

/** Starts health for every cluster of a generation; stop() when the generation retires. */
export function startHealth(
  clusters: ReadonlyMap<string, Cluster>,
  configs: readonly (ClusterHealthConfig & { name: string })[],
  deps: HealthDeps,
): Map<string, ClusterHealth> {
  const started = new Map<string, ClusterHealth>();
  for (const config of configs) {
    const cluster = clusters.get(config.name);
    if (!cluster) continue;
    const health = new ClusterHealth(cluster, config, deps);
    health.start();
    started.set(config.name, health);
  }
  return started;
}
