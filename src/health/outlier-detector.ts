/**
 * Passive health (Envoy outlier detection): watches the outcome of real connections and
 * requests, and ejects an endpoint after `consecutiveFailures` failures in a row. The
 * ejection lasts baseEjectionTime × times ejected (capped at maxEjectionTime), then a
 * timer returns the endpoint. Ejection history lives in the HealthRegistry, so the
 * detector of the next config generation resumes where this one stopped.
 */

import { formatDuration } from '../config/values.js';
import type { Cluster, OutcomeObserver } from '../core/cluster.js';
import { type Endpoint, Unavailable } from '../core/endpoint.js';
import type { HealthRegistry, OutlierMemory } from './registry.js';
import type { HealthReporter } from './reporter.js';

export interface OutlierSettings {
  consecutiveFailures: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  maxEjectionPercent: number;
}

export class OutlierDetector implements OutcomeObserver {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly settings: OutlierSettings,
    private readonly reporter: HealthReporter,
    private readonly registry: HealthRegistry,
    private readonly now: () => number = Date.now,
  ) {}

  /** Observes the cluster and takes over ejections that a previous generation started. */
  start(): void {
    this.cluster.observers.push(this);
    this.resume();
  }

  /** Schedules the return of ejected endpoints that have no timer here (after a reload or a new endpoint list). */
  resume(): void {
    for (const endpoint of this.cluster.endpoints) {
      const until = this.memory(endpoint).ejectedUntil;
      if (until !== undefined && !this.timers.has(endpoint.id)) this.scheduleReturn(endpoint, until);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    const index = this.cluster.observers.indexOf(this);
    if (index >= 0) this.cluster.observers.splice(index, 1);
  }

  success(endpoint: Endpoint): void {
    if (this.stopped) return;
    this.memory(endpoint).consecutiveFailures = 0;
  }

  failure(endpoint: Endpoint, reason: string): void {
    if (this.stopped || (endpoint.state.flags & Unavailable.OutlierEjected) !== 0) return;
    const memory = this.memory(endpoint);
    memory.consecutiveFailures++;
    if (memory.consecutiveFailures >= this.settings.consecutiveFailures) this.eject(endpoint, memory, reason);
  }

  private eject(endpoint: Endpoint, memory: OutlierMemory, reason: string): void {
    const endpoints = this.cluster.endpoints;
    const ejected = endpoints.filter((e) => (e.state.flags & Unavailable.OutlierEjected) !== 0).length;
    // Keep counting failures: the endpoint is ejected as soon as there is room.
    if ((ejected + 1) * 100 > endpoints.length * this.settings.maxEjectionPercent) return;

    const now = this.now();
    const { baseEjectionMs, maxEjectionMs } = this.settings;
    // Each maxEjectionTime spent back in service forgives one earlier ejection.
    if (memory.returnedAt !== undefined) {
      const forgiven = Math.floor((now - memory.returnedAt) / maxEjectionMs);
      memory.timesEjected = Math.max(0, memory.timesEjected - forgiven);
    }
    memory.timesEjected++;
    const durationMs = Math.min(baseEjectionMs * memory.timesEjected, maxEjectionMs);
    memory.ejectedUntil = now + durationMs;
    memory.consecutiveFailures = 0;
    const why = `${this.settings.consecutiveFailures} consecutive failures, last ${reason}; ejection ${memory.timesEjected} for ${formatDuration(durationMs)}`;
    this.reporter.set(endpoint, Unavailable.OutlierEjected, true, why);
    this.scheduleReturn(endpoint, memory.ejectedUntil);
  }

  private scheduleReturn(endpoint: Endpoint, until: number): void {
    clearTimeout(this.timers.get(endpoint.id));
    const timer = setTimeout(() => this.release(endpoint), Math.max(0, until - this.now()));
    timer.unref();
    this.timers.set(endpoint.id, timer);
  }

  private release(ejected: Endpoint): void {
    this.timers.delete(ejected.id);
    if (this.stopped) return;
    // Prefer the cluster's current object for this endpoint; the ejected one shares its state.
    const endpoint = this.cluster.endpoints.find((e) => e.id === ejected.id) ?? ejected;
    const memory = this.memory(endpoint);
    if (memory.ejectedUntil === undefined) return; // another generation already returned it
    const now = this.now();
    if (memory.ejectedUntil > now) {
      this.scheduleReturn(endpoint, memory.ejectedUntil); // re-ejected meanwhile for longer
      return;
    }
    const lasted = formatDuration(this.ejectionLength(memory));
    memory.ejectedUntil = undefined;
    memory.returnedAt = now;
    memory.consecutiveFailures = 0;
    this.reporter.set(endpoint, Unavailable.OutlierEjected, false, `ejection of ${lasted} ended`);
  }

  private ejectionLength(memory: OutlierMemory): number {
    return Math.min(this.settings.baseEjectionMs * memory.timesEjected, this.settings.maxEjectionMs);
  }

  private memory(endpoint: Endpoint): OutlierMemory {
    return this.registry.memoryFor(endpoint).outlier;
  }
}
