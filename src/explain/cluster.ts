/**
 * One cluster as explain shows it: each endpoint with whether the next pick may choose it
 * and every reason it may not (each availability flag on its own, the time left on an
 * ejection, draining, locality), and the endpoint the cluster's own picker chooses.
 */
import type { PickContext } from '../balancing/picker.js';
import type { ClusterConfig } from '../config/schema.js';
import type { Cluster } from '../core/cluster.js';
import {
  ALL_UNAVAILABLE_REASONS,
  describeFlags,
  type Endpoint,
  type Locality,
  Unavailable,
} from '../core/endpoint.js';
import type { ClusterExplanation, EndpointExplanation } from './explanation.js';
import type { ExplainWorld } from './world.js';

export function explainCluster(
  world: ExplainWorld,
  name: string,
  context: PickContext,
): ClusterExplanation | undefined {
  const config = world.config.clusters.find((c) => c.name === name) ?? world.catalogClusterConfig?.(name);
  const cluster = world.cluster(name);
  if (!config || !cluster) return undefined;
  const panic = cluster.excludeFlags !== ALL_UNAVAILABLE_REASONS;
  const endpoints = cluster.endpoints.map((e) => explainEndpoint(world, config, cluster, e));
  // Draining endpoints serve only when nothing else can (Cluster.pick).
  const others = endpoints.some((e, i) => e.usable && !isDraining(cluster.endpoints[i]!));
  endpoints.forEach((e, i) => {
    if (isDraining(cluster.endpoints[i]!) && others) e.usable = false;
  });
  // A real pick: the policy's own answer (a round robin moves on by one, as for a request).
  const next = cluster.pick({ ...context, now: world.now });
  return {
    name,
    endpointsFrom: sourceOf(config),
    policy: policyOf(config),
    notes: clusterNotes(world, config, panic),
    endpoints,
    nextPick: next?.id ?? null,
    ...(world.mode === 'offline' && config.discovery ? { endpointsUnknown: true } : {}),
  };
}

function isDraining(endpoint: Endpoint): boolean {
  return (endpoint.state.flags & Unavailable.Draining) !== 0;
}

function explainEndpoint(
  world: ExplainWorld,
  config: ClusterConfig,
  cluster: Cluster,
  endpoint: Endpoint,
): EndpointExplanation {
  const flags = endpoint.state.flags;
  const memory = world.healthMemory?.(endpoint);
  const reasons: string[] = [];
  let ejectionLeftMs: number | undefined;
  if (flags & Unavailable.ActiveCheckFailed) {
    const failures = memory?.active.consecutiveFailures;
    reasons.push(`failing active health checks${failures ? ` (${failures} in a row)` : ''}`);
  }
  if (flags & Unavailable.OutlierEjected) {
    const until = memory?.outlier.ejectedUntil;
    if (until !== undefined) ejectionLeftMs = Math.max(0, until - world.now);
    const left = ejectionLeftMs === undefined ? '' : `: ${timeLeft(ejectionLeftMs)} left`;
    reasons.push(`ejected by outlier detection${left}`);
  }
  if (flags & Unavailable.DiscoveryNotReady) reasons.push('discovery says not ready');
  if (flags & Unavailable.Draining) reasons.push('draining: used only when no other endpoint is usable');
  let usable = (flags & cluster.excludeFlags & ~Unavailable.Draining) === 0;
  if (flags & ~Unavailable.Draining && usable) reasons.push('panic mode: used anyway');
  const locality = localityReason(config, world.self, endpoint.locality);
  if (locality) {
    reasons.push(locality.reason);
    if (locality.excludes) usable = false;
  }
  return {
    address: endpoint.id,
    weight: endpoint.weight,
    locality: { ...endpoint.locality },
    usable,
    reasons,
    flags: describeFlags(flags),
    ...(world.mode === 'live' ? { active: endpoint.state.active } : {}),
    ...(world.mode === 'live' && endpoint.state.lastError !== undefined
      ? { lastError: endpoint.state.lastError }
      : {}),
    ...(ejectionLeftMs === undefined ? {} : { ejectionLeftMs }),
  };
}

/** 298500 → `4m59s`: whole seconds, rounded up (an ejection is never shown as over early). */
export function timeLeft(ms: number): string {
  const total = Math.ceil(ms / 1000);
  const [h, m, sec] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${sec || total === 0 ? `${sec}s` : ''}`;
}

/** Where the endpoint stands for `balancing.locality` (the tiers of LocalityPicker). */
function localityReason(
  config: ClusterConfig,
  self: Locality,
  at: Locality,
): { reason: string; excludes: boolean } | undefined {
  const mode = config.balancing.locality ?? 'any';
  if (mode === 'any') return undefined;
  const onNode = self.node !== undefined && at.node === self.node;
  const inZone = self.zone !== undefined && at.zone === self.zone;
  if (mode === 'local-only') {
    const local = self.node !== undefined ? onNode : inZone;
    if (local)
      return { reason: `local (${self.node !== undefined ? 'this node' : 'this zone'})`, excludes: false };
    const wanted =
      self.node !== undefined
        ? `node ${self.node}`
        : self.zone !== undefined
          ? `zone ${self.zone}`
          : 'a node name (none set: nothing is local)';
    return { reason: `not local: locality local-only wants ${wanted}`, excludes: true };
  }
  if (onNode) return { reason: 'locality: this node (tried first)', excludes: false };
  if (inZone)
    return { reason: 'locality: this zone (tried when no endpoint on this node is usable)', excludes: false };
  return { reason: 'locality: elsewhere (tried when no nearer endpoint is usable)', excludes: false };
}

function sourceOf(config: ClusterConfig): string {
  const { dns, kubernetes, etcd } = config.discovery ?? {};
  if (dns) return `dns ${dns.type} ${dns.name}`;
  if (kubernetes) return `kubernetes ${kubernetes.namespace ?? '(this namespace)'}/${kubernetes.service}`;
  if (etcd) return `etcd ${etcd.prefix}`;
  return 'static';
}

function policyOf(config: ClusterConfig): string {
  const b = config.balancing;
  const parts: string[] = [b.policy];
  if (b.key) parts.push(`key ${b.key}`);
  if (b.locality && b.locality !== 'any') parts.push(`locality ${b.locality}`);
  if (b.affinity) parts.push(`client-IP affinity for ${b.affinity.clientIp.timeout}`);
  if (b.slowStart && b.slowStart !== '0s') parts.push(`slow start over ${b.slowStart}`);
  return parts.join(', ');
}

function clusterNotes(world: ExplainWorld, config: ClusterConfig, panic: boolean): string[] {
  const notes: string[] = [];
  if (panic) {
    notes.push(
      `panic mode: fewer than ${config.panicThreshold}% of endpoints are available, so health excludes none`,
    );
  }
  const check = config.healthCheck;
  if (check) {
    const probe = check.http ? `HTTP GET ${check.http.path}` : 'TCP connect';
    notes.push(`active health checks: ${probe} every ${check.interval}`);
  }
  const od = config.outlierDetection;
  if (od) notes.push(`outlier detection: ejects after ${od.consecutiveFailures} failures in a row`);
  if (!check && !od) {
    notes.push(
      'nothing checks these endpoints (no healthCheck, no outlierDetection): a dead one stays usable',
    );
  }
  if (world.mode === 'offline' && config.discovery) {
    notes.push(
      `endpoints come from ${sourceOf(config)}, not contacted offline: use --admin for the live list`,
    );
  }
  return notes;
}
