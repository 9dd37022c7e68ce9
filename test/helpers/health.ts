import { connect } from 'node:net';
import { RoundRobinPicker } from '../../src/balancing/round-robin.js';
import { Cluster } from '../../src/core/cluster.js';
import { type Endpoint, EndpointStateRegistry } from '../../src/core/endpoint.js';
import { type HealthTransition, ProxyEvents } from '../../src/core/events.js';
import { ClusterHealth, type ClusterHealthConfig } from '../../src/health/cluster-health.js';
import { HealthRegistry } from '../../src/health/registry.js';
import { captureLogger } from './proxy.js';
import { startTcpServer, type TestServer } from './servers.js';

/** A cluster of 127.0.0.1 ports with health running on it, and what health said. */
export interface HealthHarness {
  cluster: Cluster;
  health: ClusterHealth;
  registry: HealthRegistry;
  states: EndpointStateRegistry;
  events: ProxyEvents;
  transitions: HealthTransition[];
  lines: Record<string, unknown>[];
  endpoint(port: number): Endpoint;
  /** Resolves with the next transition of `port` that satisfies `match`. */
  next(port: number, match: (t: HealthTransition) => boolean, timeoutMs?: number): Promise<HealthTransition>;
  stop(): void;
}

const DEFAULTS: ClusterHealthConfig = {
  healthCheck: undefined,
  outlierDetection: undefined,
  panicThreshold: 0,
};

export function startHealthHarness(
  ports: number[],
  config: Partial<ClusterHealthConfig>,
  /** Runs before health starts: e.g. leave flags as a previous generation would. */
  beforeStart: (cluster: Cluster) => void = () => {},
): HealthHarness {
  const states = new EndpointStateRegistry();
  const registry = new HealthRegistry();
  const events = new ProxyEvents();
  const { logger, lines } = captureLogger();
  const cluster = new Cluster('api', new RoundRobinPicker(), states);
  cluster.setEndpoints(ports.map((port) => ({ host: '127.0.0.1', port, weight: 1, locality: {} })));
  const transitions: HealthTransition[] = [];
  events.on('health', (t) => transitions.push(t));
  const health = new ClusterHealth(
    cluster,
    { ...DEFAULTS, ...config },
    { registry, events, log: logger, refreshIntervalMs: 50 },
  );
  beforeStart(cluster);
  health.start();
  return {
    cluster,
    health,
    registry,
    states,
    events,
    transitions,
    lines,
    endpoint(port) {
      const found = cluster.endpoints.find((e) => e.port === port);
      if (!found) throw new Error(`no endpoint on port ${port}`);
      return found;
    },
    next(port, match, timeoutMs = 5000) {
      return nextTransition(events, (t) => t.endpoint === `127.0.0.1:${port}` && match(t), timeoutMs);
    },
    stop: () => health.stop(),
  };
}

/** Resolves with the next `health` event that satisfies `match`; rejects after `timeoutMs`. */
export function nextTransition(
  events: ProxyEvents,
  match: (t: HealthTransition) => boolean,
  timeoutMs = 5000,
): Promise<HealthTransition> {
  return new Promise((resolve, reject) => {
    const onHealth = (t: HealthTransition) => {
      if (!match(t)) return;
      clearTimeout(timer);
      events.off('health', onHealth);
      resolve(t);
    };
    const timer = setTimeout(() => {
      events.off('health', onHealth);
      reject(new Error(`no matching health transition within ${timeoutMs}ms`));
    }, timeoutMs);
    events.on('health', onHealth);
  });
}

export const isDown = (flag: string) => (t: HealthTransition) =>
  t.to.includes(flag) && !t.from.includes(flag);
export const isUp = (flag: string) => (t: HealthTransition) => t.from.includes(flag) && !t.to.includes(flag);

/**
 * One connection the way the L4 proxy makes it: pick, connect, and report the outcome to
 * the cluster (a line from a named server is a success; a reset or refusal a failure).
 */
export function connectVia(cluster: Cluster): Promise<Endpoint | undefined> {
  const endpoint = cluster.pick({});
  if (!endpoint) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    let done = false;
    const finish = (failure?: string) => {
      if (done) return;
      done = true;
      socket.destroy();
      if (failure) cluster.reportFailure(endpoint, failure);
      else cluster.reportSuccess(endpoint, 1);
      resolve(endpoint);
    };
    socket.once('data', () => finish());
    socket.on('error', (e: NodeJS.ErrnoException) =>
      finish(e.code === 'ECONNREFUSED' ? 'connect-refused' : 'reset'),
    );
    socket.once('close', () => finish('reset'));
  });
}

/** An upstream that accepts every connection and resets it at once. */
export function startResettingServer(port = 0): Promise<TestServer> {
  return startTcpServer((socket) => socket.resetAndDestroy(), port);
}
