import type { Endpoint } from '../core/endpoint.js';
import { isUsable, type PickContext, type Picker } from './picker.js';

/** Expired bindings are swept at most this often (a sweep allocates an iterator). */
const SWEEP_INTERVAL_MS = 1_000;

/** Bindings per cluster at most (about 15 MB); beyond it the least recently used go first. */
export const MAX_BINDINGS = 100_000;

interface Binding {
  endpointId: string;
  lastUsed: number;
}

/**
 * One cluster's client → endpoint bindings. A Map keeps insertion order, and a binding is
 * re-inserted on every use, so the oldest binding is always first and expiry is amortised
 * O(1) from the front.
 */
export class AffinityTable {
  readonly bindings = new Map<string, Binding>();

  /** Drops bindings unused for `timeoutMs`; stops at the first one still fresh. */
  expire(now: number, timeoutMs: number): void {
    for (const [client, binding] of this.bindings) {
      if (now - binding.lastUsed < timeoutMs) return;
      this.bindings.delete(client);
    }
  }

  get size(): number {
    return this.bindings.size;
  }
}

/**
 * Affinity tables by cluster name. Bindings must survive a config reload (a client keeps its
 * endpoint across `portside` reloads, as it does across kube-proxy resyncs), so the runtime
 * keeps one registry for the life of the process, beside `EndpointStateRegistry`, and each
 * generation's pickers look their table up by cluster name.
 */
export class AffinityRegistry {
  private readonly tables = new Map<string, AffinityTable>();

  tableFor(cluster: string): AffinityTable {
    let table = this.tables.get(cluster);
    if (!table) {
      table = new AffinityTable();
      this.tables.set(cluster, table);
    }
    return table;
  }

  /** Forgets tables of clusters the live generation no longer has (or has without affinity). */
  /** A cluster that is gone for good (a catalog Service deleted). */
  forget(cluster: string): void {
    this.tables.delete(cluster);
  }

  retainOnly(clusters: Iterable<string>): void {
    const keep = new Set(clusters);
    for (const name of this.tables.keys()) if (!keep.has(name)) this.tables.delete(name);
  }
}

/**
 * Kubernetes `sessionAffinity: ClientIP`: a client keeps the endpoint it was given while that
 * endpoint stays usable and until `timeoutMs` after the client's last use of it; otherwise
 * the wrapped policy picks and the client is bound to the new endpoint. Connections without a
 * client address are not bound.
 */
export class AffinityPicker implements Picker {
  private seen: readonly Endpoint[] | undefined;
  private byId = new Map<string, Endpoint>();
  private nextSweep = 0;

  constructor(
    private readonly inner: Picker,
    private readonly table: AffinityTable,
    private readonly timeoutMs: number,
  ) {}

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    const client = context.clientAddress;
    if (!client) return this.inner.pick(endpoints, context);
    if (endpoints !== this.seen) {
      this.seen = endpoints;
      this.byId = new Map(endpoints.map((e) => [e.id, e]));
    }
    const now = context.now ?? Date.now();
    const bindings = this.table.bindings;
    if (now >= this.nextSweep) {
      this.table.expire(now, this.timeoutMs);
      this.nextSweep = now + Math.min(this.timeoutMs, SWEEP_INTERVAL_MS);
    }
    const binding = bindings.get(client);
    if (binding && now - binding.lastUsed < this.timeoutMs) {
      const bound = this.byId.get(binding.endpointId);
      if (bound && isUsable(bound, context)) {
        this.touch(client, binding, now);
        return bound;
      }
    }
    const chosen = this.inner.pick(endpoints, context);
    if (!chosen) return undefined;
    if (binding) {
      binding.endpointId = chosen.id;
      this.touch(client, binding, now);
    } else {
      // Bounded: a flood of new client addresses evicts the least recently used binding.
      if (bindings.size >= MAX_BINDINGS) bindings.delete(bindings.keys().next().value!);
      bindings.set(client, { endpointId: chosen.id, lastUsed: now });
    }
    return chosen;
  }

  private touch(client: string, binding: Binding, now: number): void {
    binding.lastUsed = now;
    this.table.bindings.delete(client);
    this.table.bindings.set(client, binding);
  }
}
