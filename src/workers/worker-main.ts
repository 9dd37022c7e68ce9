/**
 * A worker thread of `workers: N`: the listeners of one config, with clusters fed by the
 * main thread (no discovery, no active checks; outlier detection is this worker's own), and
 * a Service catalog that reads the main thread's Service tables.
 * It answers configs with where it bound, reports its counters about once a second and
 * when asked, and writes its log lines through the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ProxyAdminSource } from '../admin/proxy-source.js';
import { UpstreamTally } from '../admin/upstream-tally.js';
import { Unavailable } from '../core/endpoint.js';
import { flushInfoLines } from '../core/info-lines.js';
import { createLogger, type LogLevel } from '../core/log.js';
import { ProxyServer } from '../core/proxy.js';
import { BindError } from '../listeners/bind-error.js';
import { FedServiceScopes } from './fed-services.js';
import { FedSources } from './fed-source.js';
import {
  ENDPOINT_FIELDS,
  type EndpointRow,
  type FromWorker,
  type ToWorker,
  type WorkerData,
} from './messages.js';

const STATS_INTERVAL_MS = 1000;

const port = parentPort!;
const { id, logLevel } = workerData as WorkerData;
const send = (message: FromWorker) => port.postMessage(message);

const log = createLogger(logLevel as LogLevel, false, {
  write: (text: string) => send({ type: 'log', text }),
}).child({ worker: id });
const feed = new FedSources((cluster) => send({ type: 'catalog', want: [cluster] }));
const services = new FedServiceScopes();
// Upstream outcomes of every cluster from its first request, for the main thread's /metrics.
const tally = new UpstreamTally();
const proxy = new ProxyServer(log, {
  onCluster: (cluster) => tally.observe(cluster),
  relayedDiscovery: true,
  createSource: feed.create,
  catalogFeed: { watches: services, whenListed: (cluster) => feed.whenListed(cluster) },
  serves: (l) => l.protocol !== 'udp',
  reusePort: true,
});
proxy.events.on('health', (t) => tally.health(t));
// Describes listeners exactly as the admin API of a single process does.
const describe = new ProxyAdminSource(proxy, { lastResult: undefined });

function stats(): FromWorker {
  const endpoints: EndpointRow[] = [];
  const ejected: [string, string][] = [];
  const catalog = proxy.current?.catalog;
  const clusters = [...(proxy.current?.clusters.values() ?? []), ...(catalog?.clusters() ?? [])];
  for (const cluster of clusters) {
    for (const e of cluster.endpoints) {
      endpoints.push([cluster.name, e.id, ...ENDPOINT_FIELDS.map((f) => e.state[f])]);
      if (e.state.flags & Unavailable.OutlierEjected) ejected.push([cluster.name, e.id]);
    }
  }
  const catalogUsed = catalog?.takeRecentlyUsed() ?? [];
  return {
    type: 'stats',
    listeners: describe.listeners(),
    endpoints,
    catalogUsed,
    upstream: tally.totals(),
    ejected,
  };
}

const timer = setInterval(() => send(stats()), STATS_INTERVAL_MS);
timer.unref();

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'apply':
      feed.update(message.endpoints, true);
      services.update(message.services, true);
      proxy.apply(message.config).then(
        () => {
          const bound: Record<string, string> = {};
          for (const l of proxy.activeListeners) bound[l.name] = l.boundAddress;
          send({ type: 'applied', seq: message.seq, bound });
        },
        (error: Error) => {
          const bind =
            error instanceof BindError
              ? { what: error.what, address: error.address, code: error.code }
              : undefined;
          const cause = error instanceof BindError ? (error.cause as Error).message : error.message;
          send({ type: 'failed', seq: message.seq, message: cause, ...(bind ? { bind } : {}) });
        },
      );
      return;
    case 'endpoints':
      feed.update(message.endpoints);
      return;
    case 'services':
      services.update(message.tables);
      return;
    case 'stats':
      send(stats());
      return;
    case 'drain':
      clearInterval(timer);
      proxy.shutdown().then(
        ({ cut }) => {
          // The main thread ends this thread once drained: batched access lines go first.
          flushInfoLines();
          send(stats());
          send({ type: 'drained', cut });
        },
        (error: Error) => {
          log.error({ err: error }, 'error while draining');
          send({ type: 'drained', cut: 0 });
        },
      );
  }
});
