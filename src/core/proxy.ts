import type { Config, ListenerConfig } from '../config/schema.js';
import { ms } from '../config/values.js';
import { ensureHttpProxyLoaded, httpProxyModule } from '../l7/load.js';
import type { UpstreamPoolOwner } from '../l7/upstream-pools.js';
import { acceptorsFor } from '../listeners/acceptors.js';
import { Listener } from '../listeners/listener.js';
import type { GenerationHandler } from '../listeners/listener-base.js';
import { UdpListener } from '../listeners/udp-listener.js';
import { TlsRegistry } from '../tls/tls-registry.js';
import { ClusterManager, type ClusterManagerDeps } from './cluster-manager.js';
import { ProxyEvents } from './events.js';
import type { Logger } from './log.js';
import { Runtime } from './runtime.js';

/** How long a reload waits for the new generation's discovery before swapping anyway. */
const WARM_UP_TIMEOUT_MS = 10_000;

/** Listeners keep their socket across reloads when their address is unchanged. */
function listenerKey(listener: ListenerConfig): string {
  const key = listener.address.endsWith(':0') ? `name:${listener.name}` : listener.address;
  // A UDP port is not a TCP port: the two never share a socket.
  return listener.protocol === 'udp' ? `udp ${key}` : key;
}

/** A TCP (tcp, http) or UDP listener; the two have the same lifecycle. */
export type AnyListener = Listener | UdpListener;

/**
 * The running proxy: owns the listeners (by address), the cluster manager (clusters,
 * discovery and health, across generations) and the current generation. `apply` has the
 * manager prepare what the new config adds or changes, binds new listeners, swaps handlers
 * and clusters, then retires what the new config no longer has. A failed apply changes nothing.
 */
export class ProxyServer {
  readonly events = new ProxyEvents();
  readonly clusters: ClusterManager;
  /** Certificates of listeners and clusters, kept (and watched for rotation) across reloads. */
  readonly tls: TlsRegistry;
  /** Keep-alive pools of HTTP listeners, kept across reloads (created with the L7 proxy). */
  private upstreamPools: UpstreamPoolOwner | undefined;
  private readonly listeners = new Map<string, AnyListener>();
  /** Listeners a reload removed, until their open connections finish or drainTimeout cuts them. */
  private readonly retiring = new Map<AnyListener, Promise<number>>();
  private runtime: Runtime | undefined;
  private draining = false;
  private stopped: Promise<{ cut: number }> | undefined;
  /** Applies run one at a time: two overlapping ones would both bind the same new addresses. */
  private applying: Promise<unknown> = Promise.resolve();

  /** Which listeners of the config this proxy binds (worker threads split them with the main thread). */
  private readonly serves: (listener: ListenerConfig) => boolean;
  /** Bind TCP listeners with SO_REUSEPORT (worker threads share each port). */
  private readonly reusePort: boolean;

  constructor(
    private readonly log: Logger,
    options: Pick<ClusterManagerDeps, 'createSource' | 'catalogFeed' | 'onCluster' | 'relayedDiscovery'> & {
      tlsDebounceMs?: number;
      serves?: (listener: ListenerConfig) => boolean;
      reusePort?: boolean;
    } = {},
  ) {
    const { tlsDebounceMs, serves, reusePort, ...managerOptions } = options;
    this.serves = serves ?? (() => true);
    this.reusePort = reusePort ?? false;
    this.clusters = new ClusterManager({ logger: log, events: this.events, ...managerOptions });
    this.tls = new TlsRegistry({ log, debounceMs: tlsDebounceMs });
  }

  get current(): Runtime | undefined {
    return this.runtime;
  }

  get version(): number {
    return this.runtime?.version ?? 0;
  }

  /** Listeners currently accepting, in config order. */
  get activeListeners(): AnyListener[] {
    return [...this.listeners.values()];
  }

  /** Listeners removed by a reload that still finish their open connections. */
  get drainingListeners(): AnyListener[] {
    return [...this.retiring.keys()];
  }

  /** True once shutdown began (SIGTERM or admin POST /drain). */
  get isDraining(): boolean {
    return this.draining;
  }

  listener(name: string): AnyListener | undefined {
    for (const l of this.listeners.values()) if (l.name === name) return l;
    return undefined;
  }

  apply(config: Config): Promise<Runtime> {
    const run = this.applying.then(() => this.applyNow(config));
    this.applying = run.catch(() => {});
    return run;
  }

  private async applyNow(config: Config): Promise<Runtime> {
    if (this.draining) throw new Error('the proxy is draining; no new config is applied');
    const served = config.listeners.filter(this.serves);
    if (served.some((l) => l.protocol === 'http')) await ensureHttpProxyLoaded();
    // Certificate files are read first: a bad one rejects the config before anything changes.
    const tls = await this.tls.prepare(config);
    const update = this.clusters.prepare(config);
    const next = new Runtime(config, this.version + 1, update.views, {
      logger: this.log,
      syncs: this.clusters.syncs,
      tls,
      ...(update.catalog ? { catalog: update.catalog } : {}),
      upstreamPools: () => {
        this.upstreamPools ??= new (httpProxyModule().UpstreamPoolOwner)();
        return this.upstreamPools;
      },
    });
    const previous = this.runtime;
    if (previous) {
      // Cluster warming: the old generation keeps serving until clusters with a new source
      // have endpoints, so a reload never routes to a cluster whose discovery has not answered
      // yet. Clusters the reload leaves alone are warm: they keep running as they are.
      const cold = await update.whenWarm(WARM_UP_TIMEOUT_MS);
      if (cold.length > 0) {
        this.log.warn(
          { clusters: cold, waitedMs: WARM_UP_TIMEOUT_MS },
          'discovery not synced; applying anyway',
        );
      }
    }

    const wanted = new Map<string, ListenerConfig>();
    for (const l of served) wanted.set(listenerKey(l), l);
    const bound: [string, AnyListener][] = [];
    try {
      for (const [key, l] of wanted) {
        if (this.listeners.has(key)) continue;
        const listener =
          l.protocol === 'udp'
            ? new UdpListener(l.name, l.address, this.log)
            : new Listener(l.name, l.address, this.log, acceptorsFor(l.protocol));
        this.install(listener, l, next);
        await (listener instanceof Listener ? listener.bind({ reusePort: this.reusePort }) : listener.bind());
        bound.push([key, listener]);
        this.log.info(
          { listener: l.name, address: listener.boundAddress, protocol: l.protocol },
          'listener bound',
        );
      }
    } catch (error) {
      for (const [, listener] of bound) listener.stopAccepting();
      update.abandon();
      throw error;
    }

    const retiring: AnyListener[] = [];
    for (const [key, listener] of this.listeners) {
      const l = wanted.get(key);
      if (!l) {
        retiring.push(listener);
        this.listeners.delete(key);
        continue;
      }
      listener.name = l.name;
      this.install(listener, l, next);
    }
    for (const [key, listener] of bound) this.listeners.set(key, listener);
    this.runtime = next;
    update.commit();
    for (const c of config.clusters) {
      const cluster = next.clusters.get(c.name);
      if (cluster) cluster.tls = tls.clusters.get(c.name);
    }
    this.tls.commit(tls);

    const drainMs = ms(config.drainTimeout);
    for (const listener of retiring) {
      this.log.info(
        { listener: listener.name, open: listener.openConnections },
        'listener removed; draining',
      );
      const drained = listener.drain(drainMs).then((cut) => {
        this.retiring.delete(listener);
        this.log.info({ listener: listener.name, cut }, 'listener drained');
        return cut;
      });
      this.retiring.set(listener, drained);
    }
    return next;
  }

  /** Gives the listener its handler from `runtime`, retiring the one it had. */
  private install(listener: AnyListener, l: ListenerConfig, runtime: Runtime): void {
    // listenerKey keeps UDP configs on UDP listeners and the others on TCP ones.
    if (listener instanceof UdpListener) {
      if (l.protocol !== 'udp') throw new Error(`listener "${l.name}" is not udp`);
      const retired = listener.swapHandler(runtime.createDatagramHandler(l, listener));
      if (retired) retire(listener, retired, listener.handler!);
    } else {
      if (l.protocol === 'udp') throw new Error(`listener "${l.name}" is udp`);
      const retired = listener.swapHandler(runtime.createHandler(l, listener.stats));
      if (retired) retire(listener, retired, listener.handler!);
    }
  }

  /**
   * Graceful shutdown: stop accepting everywhere, let open connections finish for up to
   * `drainTimeout`, then cut the rest. Resolves when every listener is done.
   */
  shutdown(): Promise<{ cut: number }> {
    this.stopped ??= this.shutdownNow();
    return this.stopped;
  }

  private async shutdownNow(): Promise<{ cut: number }> {
    this.draining = true;
    this.events.emit('draining');
    // A reload in progress finishes (or fails) first, so no listener binds after this.
    await this.applying;
    const drainMs = this.runtime ? ms(this.runtime.config.drainTimeout) : 0;
    const open = this.activeListeners.reduce((n, l) => n + l.openConnections, 0);
    this.log.info({ open, drainTimeoutMs: drainMs }, 'draining');
    const cuts = await Promise.all([
      ...this.activeListeners.map((l) => l.drain(drainMs)),
      ...this.retiring.values(),
    ]);
    this.clusters.stop();
    this.tls.close();
    const cut = cuts.reduce((a, b) => a + b, 0);
    this.log.info({ cut }, 'drained');
    return { cut };
  }
}

/**
 * A retired handler keeps its connections until they end. One that can hand over (L7, UDP)
 * gives them to the new generation instead: L7 serves their next requests with it rather
 * than closing idle keep-alives, UDP sessions go on through the same socket.
 */
function retire<H extends GenerationHandler & { handOver?(successor: H): Promise<void> | undefined }>(
  listener: { release(handler: H): void },
  handler: H,
  successor: H,
): void {
  const done = handler.handOver?.(successor) ?? handler.drain();
  void done.then(() => listener.release(handler));
}
