import type { Endpoint } from '../core/endpoint.js';
import { type HashKey, hashKey, NO_KEY } from './hash-key.js';
import { LeastConnectionsPicker, leastConnectionsLoad } from './least-connections.js';
import { isUsable, type PickContext, type Picker } from './picker.js';

/** Keys remembered at most; the oldest assignment is forgotten first. */
const MAX_KEYS = 65_536;
/**
 * A replicated set unchanged this long drops its busiest member (IPVS `lblcr_expiration`,
 * 24 h by default there: a proxy's load changes in minutes, not days).
 */
export const SHRINK_AFTER_MS = 5 * 60_000;

/** The endpoints (by id, so an assignment survives discovery refreshes) serving one key. */
interface Assignment {
  ids: string[];
  changedAt: number;
}

/**
 * IPVS lblc and lblcr: a key (by default the destination) keeps going to the endpoint it was
 * given, for cache locality, until that endpoint is unusable or overloaded, i.e. has more
 * active connections than its weight while another is below half of its own. Then the key
 * goes to the least connected endpoint: lblc moves it there; lblcr (`replicated`) adds it to
 * the key's set and sends each connection to the set's least loaded member, so a hot key
 * is served by several endpoints and a cold one by one.
 *
 * Keys are remembered by a 30-bit hash (two keys may share an assignment, as IPVS's table
 * buckets do), at most MAX_KEYS of them.
 */
export class LocalityLeastConnectionsPicker implements Picker {
  private seen: readonly Endpoint[] | undefined;
  private byId = new Map<string, Endpoint>();
  private readonly assigned = new Map<number, Assignment>();
  private readonly least = new LeastConnectionsPicker();

  constructor(
    private readonly key: HashKey,
    private readonly replicated: boolean,
  ) {}

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    if (endpoints !== this.seen) {
      this.seen = endpoints;
      this.byId = new Map(endpoints.map((endpoint) => [endpoint.id, endpoint]));
    }
    const hash = hashKey(this.key, context);
    if (hash === NO_KEY) return this.least.pick(endpoints, context);
    // Below 2^30, a small integer to V8: a Map key that does not allocate.
    const slot = hash & 0x3fffffff;
    const assignment = this.assigned.get(slot);
    if (assignment === undefined) {
      const chosen = this.least.pick(endpoints, context);
      if (chosen) this.remember(slot, { ids: [chosen.id], changedAt: context.now ?? Date.now() });
      return chosen;
    }
    const current = this.leastLoadedMember(assignment, context);
    if (this.replicated && assignment.ids.length > 1) this.shrinkIfSettled(assignment, current, context);
    if (current !== undefined && current.state.active <= current.weight) return current;
    const least = this.least.pick(endpoints, context);
    if (least === undefined) return current;
    // Overloaded, but every other endpoint is busy too: stay, for locality.
    if (current !== undefined && least.state.active * 2 >= least.weight) return current;
    this.assign(assignment, least, context);
    return least;
  }

  /** The usable member with the fewest active connections per weight; drops members discovery removed. */
  private leastLoadedMember(assignment: Assignment, context: PickContext): Endpoint | undefined {
    const ids = assignment.ids;
    let best: Endpoint | undefined;
    for (let i = 0; i < ids.length; i++) {
      const endpoint = this.byId.get(ids[i]!);
      if (endpoint === undefined) {
        ids.splice(i--, 1);
        continue;
      }
      if (!isUsable(endpoint, context)) continue;
      if (best === undefined || leastConnectionsLoad(endpoint) < leastConnectionsLoad(best)) best = endpoint;
    }
    return best;
  }

  /** A set unchanged for SHRINK_AFTER_MS drops its busiest member other than `keep` (about to be used). */
  private shrinkIfSettled(assignment: Assignment, keep: Endpoint | undefined, context: PickContext): void {
    const now = context.now ?? Date.now();
    if (now - assignment.changedAt <= SHRINK_AFTER_MS) return;
    assignment.changedAt = now;
    const ids = assignment.ids;
    let busiest = -1;
    let load = -1;
    for (let i = 0; i < ids.length; i++) {
      const endpoint = this.byId.get(ids[i]!)!;
      if (endpoint === keep) continue;
      const l = leastConnectionsLoad(endpoint);
      if (l > load) {
        load = l;
        busiest = i;
      }
    }
    if (busiest >= 0) ids.splice(busiest, 1);
  }

  private assign(assignment: Assignment, endpoint: Endpoint, context: PickContext): void {
    const ids = assignment.ids;
    if (!this.replicated) ids.length = 0;
    if (!ids.includes(endpoint.id)) ids.push(endpoint.id);
    assignment.changedAt = context.now ?? Date.now();
  }

  private remember(slot: number, assignment: Assignment): void {
    if (this.assigned.size >= MAX_KEYS) {
      for (const oldest of this.assigned.keys()) {
        this.assigned.delete(oldest);
        break;
      }
    }
    this.assigned.set(slot, assignment);
  }
}
