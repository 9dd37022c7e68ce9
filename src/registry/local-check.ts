/**
 * The health check of one registered application, with the cluster `healthCheck` syntax
 * and probes: `unhealthyThreshold` failures in a row make it unhealthy, `healthyThreshold`
 * successes make it healthy again. It starts unknown, and the first result decides, so an
 * application is announced as soon as it answers once and not before (as a Consul agent
 * keeps a new service critical until its check passes).
 */
import type { HealthCheckConfig } from '../config/health-schema.js';
import { ms } from '../config/values.js';
import { httpProbe, type Probe, type ProbeTarget, tcpProbe } from '../health/probes.js';

export class LocalCheck {
  healthy: boolean | undefined;
  lastReason: string | undefined;
  private streak = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private readonly probe: Probe;

  constructor(
    private readonly target: ProbeTarget,
    private readonly config: HealthCheckConfig,
    private readonly onChange: (healthy: boolean, reason: string | undefined) => void,
    probe?: Probe,
  ) {
    this.probe = probe ?? (config.http ? httpProbe(config.http) : tcpProbe);
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.abort.abort();
  }

  private async run(): Promise<void> {
    if (this.abort.signal.aborted) return;
    const result = await this.probe(this.target, ms(this.config.timeout), this.abort.signal);
    if (this.abort.signal.aborted) return;
    this.record(result.ok, result.ok ? undefined : result.reason);
    const interval = ms(this.config.interval);
    const spread = (interval * this.config.jitter) / 100;
    this.timer = setTimeout(() => void this.run(), interval + spread * (2 * Math.random() - 1));
  }

  private record(ok: boolean, reason: string | undefined): void {
    this.lastReason = reason;
    if (this.healthy === undefined) {
      this.healthy = ok;
      this.onChange(ok, reason);
      return;
    }
    if (ok === this.healthy) {
      this.streak = 0;
      return;
    }
    this.streak++;
    const threshold = ok ? this.config.healthyThreshold : this.config.unhealthyThreshold;
    if (this.streak < threshold) return;
    this.streak = 0;
    this.healthy = ok;
    this.onChange(ok, reason);
  }
}
