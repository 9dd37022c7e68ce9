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
  reload: [ReloadResult];
}> {}
