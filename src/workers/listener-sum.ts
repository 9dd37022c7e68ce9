/**
 * One listener as the admin API shows it, from what each worker thread reports of it:
 * counters and open connections summed, responses and routes summed by key. A worker that
 * died still adds what it counted (its connections are gone), so totals never go down.
 */
import type { ListenerStatus, RouteStatus } from '../admin/source.js';

type Triples = [number, string, number][];

const NUMBERS = [
  'activeConnections',
  'connectionsTotal',
  'rejectedTotal',
  'bytesReceived',
  'bytesSent',
  'datagramsReceived',
  'datagramsSent',
] as const;

const ROUTE_NUMBERS = ['requestsTotal', 'errorsTotal', 'retriesTotal'] as const;

/**
 * Live workers' lists give the listeners, in their order (the config's): a listener that
 * no live worker has any more is gone. Retired lists only add their counters.
 */
export function sumListeners(live: ListenerStatus[][], retired: ListenerStatus[][] = []): ListenerStatus[] {
  const byName = new Map<string, ListenerStatus>();
  for (const list of live) {
    for (const l of list) {
      const sum = byName.get(l.name);
      if (sum) addListener(sum, l);
      else byName.set(l.name, copy(l));
    }
  }
  for (const list of retired) {
    for (const l of list) {
      const sum = byName.get(l.name);
      if (sum) addListener(sum, l);
    }
  }
  return [...byName.values()];
}

/** A deep enough copy that summing into it leaves the worker's report alone. */
function copy(l: ListenerStatus): ListenerStatus {
  return structuredClone(l);
}

function addListener(sum: ListenerStatus, l: ListenerStatus): void {
  for (const field of NUMBERS) {
    if (l[field] !== undefined) sum[field] = (sum[field] ?? 0) + l[field];
  }
  sum.bound ||= l.bound;
  if (l.tlsErrors) sum.tlsErrors = addRecord(sum.tlsErrors, l.tlsErrors);
  if (l.droppedDatagrams) sum.droppedDatagrams = addRecord(sum.droppedDatagrams, l.droppedDatagrams);
  if (l.responses) sum.responses = addTriples(sum.responses ?? [], l.responses);
  if (l.requestDurations) {
    const d = sum.requestDurations;
    sum.requestDurations = d
      ? {
          bounds: d.bounds,
          counts: d.counts.map((c, i) => c + (l.requestDurations!.counts[i] ?? 0)),
          sumSeconds: d.sumSeconds + l.requestDurations.sumSeconds,
          count: d.count + l.requestDurations.count,
        }
      : structuredClone(l.requestDurations);
  }
  if (l.routes) sum.routes = addRoutes(sum.routes ?? [], l.routes);
}

function addRoutes(sum: RouteStatus[], routes: RouteStatus[]): RouteStatus[] {
  for (const r of routes) {
    const into = sum.find((s) => s.name === r.name);
    if (!into) {
      sum.push(structuredClone(r));
      continue;
    }
    for (const field of ROUTE_NUMBERS) {
      if (r[field] !== undefined) into[field] = (into[field] ?? 0) + r[field];
    }
    if (r.grpcStatus) into.grpcStatus = addRecord(into.grpcStatus, r.grpcStatus);
    if (r.responses) into.responses = addTriples(into.responses ?? [], r.responses);
  }
  return sum;
}

function addRecord(
  sum: Record<string, number> | undefined,
  add: Record<string, number>,
): Record<string, number> {
  const out = { ...sum };
  for (const [key, n] of Object.entries(add)) out[key] = (out[key] ?? 0) + n;
  return out;
}

/** A new list: a report may share one list between its listener and a route. */
function addTriples(sum: Triples, add: Triples): Triples {
  const out: Triples = sum.map(([code, method, count]) => [code, method, count]);
  for (const [code, method, count] of add) {
    const row = out.find(([c, m]) => c === code && m === method);
    if (row) row[2] += count;
    else out.push([code, method, count]);
  }
  return out;
}
