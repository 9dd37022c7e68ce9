import { EventEmitter } from 'node:events';

/** An endpoint's availability changed (health check, outlier detection, discovery). */
export interface HealthTransition {
  cluster: string;
  endpoint: string;
  /** Availability reasons before and after, as `describeFlags` names; empty means available. */
  from: string[];
  to: string[];
  reason: string;
  at: number;
}

/** A cluster entered or left panic mode (too few endpoints available: balance across all). */
export interface PanicTransition {
  cluster: string;
  panic: boolean;
  available: number;
  total: number;
  thresholdPercent: number;
  at: number;
}

export interface ReloadResult {
  ok: boolean;
  version: number;
  at: number;
  /** One-line summary of what changed, or the errors that rejected the reload. */
  summary: string;
  errors?: string[];
}

/** Process-wide notifications that the admin API and metrics subscribe to. */
export class ProxyEvents extends EventEmitter<{
  health: [HealthTransition];
  panic: [PanicTransition];
  reload: [ReloadResult];
  /**
   * Discovery set a cluster's endpoint list (its source's first list) or changed it (members,
   * weights or localities), or a catalog cluster was retired; by cluster name.
   */
  endpoints: [string];
  /** Shutdown began (SIGTERM or admin POST /drain): this node is going away. */
  draining: [];
}> {}
