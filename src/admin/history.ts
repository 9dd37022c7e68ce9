/**
 * Short in-memory history for the dashboard: the latest health transitions and reloads,
 * and a once-a-second sample of request and error rates, so a freshly opened page has
 * sparklines and recent events straight away.
 */
import type { HealthTransition, ReloadResult } from '../core/events.js';
import type { AdminSource } from './source.js';
import { trafficOf } from './status.js';

export interface RateSample {
  /** Milliseconds since the epoch. */
  at: number;
  /** Per second over the interval since the previous sample. */
  requests: number;
  errors: number;
  perCluster: Record<string, { requests: number; errors: number }>;
}

export interface HistoryOptions {
  /** How many of each event kind to keep. */
  events?: number;
  /** How many rate samples to keep. */
  samples?: number;
  intervalMs?: number;
}

export class History {
  readonly health: HealthTransition[] = [];
  readonly reloads: ReloadResult[] = [];
  readonly rates: RateSample[] = [];
  private readonly maxEvents: number;
  private readonly maxSamples: number;
  private readonly timer: NodeJS.Timeout;
  private previous: { at: number; perCluster: Map<string, { requests: number; errors: number }> };

  constructor(
    private readonly source: AdminSource,
    options: HistoryOptions = {},
  ) {
    this.maxEvents = options.events ?? 50;
    this.maxSamples = options.samples ?? 120;
    // The admin server may start after the first config was applied: show that one too.
    const last = source.lastReload();
    if (last) this.reloads.push(last);
    source.events.on('health', this.onHealth);
    source.events.on('reload', this.onReload);
    this.previous = { at: Date.now(), perCluster: this.totals() };
    this.timer = setInterval(() => this.sample(), options.intervalMs ?? 1000);
    this.timer.unref();
  }

  private readonly onHealth = (t: HealthTransition) => push(this.health, t, this.maxEvents);
  private readonly onReload = (r: ReloadResult) => push(this.reloads, r, this.maxEvents);

  private totals(): Map<string, { requests: number; errors: number }> {
    const out = new Map<string, { requests: number; errors: number }>();
    for (const cluster of this.source.clusters()) {
      let requests = 0;
      let errors = 0;
      for (const e of cluster.endpoints) {
        requests += trafficOf(e);
        errors += e.state.failuresTotal;
      }
      out.set(cluster.name, { requests, errors });
    }
    return out;
  }

  /** Takes one rate sample now (the timer calls this; tests may too). */
  sample(now = Date.now()): RateSample {
    const current = this.totals();
    const seconds = Math.max((now - this.previous.at) / 1000, 0.001);
    const sample: RateSample = { at: now, requests: 0, errors: 0, perCluster: {} };
    for (const [name, totals] of current) {
      const before = this.previous.perCluster.get(name) ?? totals;
      // A removed-then-re-added endpoint can make a total go down; never report negative rates.
      const requests = Math.max(0, totals.requests - before.requests) / seconds;
      const errors = Math.max(0, totals.errors - before.errors) / seconds;
      sample.perCluster[name] = { requests, errors };
      sample.requests += requests;
      sample.errors += errors;
    }
    this.previous = { at: now, perCluster: current };
    push(this.rates, sample, this.maxSamples);
    return sample;
  }

  close(): void {
    clearInterval(this.timer);
    this.source.events.off('health', this.onHealth);
    this.source.events.off('reload', this.onReload);
  }
}

function push<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}
