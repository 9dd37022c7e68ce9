/**
 * `workers: N` in the main thread: the control plane (the proxy's clusters, discovery,
 * health and UDP listeners, configured by `proxy`) and N worker threads serving the TCP
 * listeners. A reload applies in the main thread first (it validates certificates and warms
 * discovery), then in every worker; when a worker refuses it, every thread goes back to
 * the running config.
 */
import { pino } from 'pino';
import type { RegistrationsSource } from '../admin/proxy-source.js';
import type { AdminSource } from '../admin/source.js';
import type { Config } from '../config/schema.js';
import type { ReloadResult } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { ProxyServer } from '../core/proxy.js';
import type { Reloadable } from '../core/reloader.js';
import type { Runtime } from '../core/runtime.js';
import { WorkersAdminSource } from './admin-source.js';
import { CatalogFeed } from './catalog-feed.js';
import { EndpointCounters } from './endpoint-counters.js';
import { allEndpointLists, EndpointFeed } from './endpoint-lists.js';
import { WorkerPool } from './pool.js';
import { workerCount } from './support.js';

export class WorkerThreads implements Reloadable {
  readonly pool: WorkerPool;
  private readonly feed: EndpointFeed;
  private readonly catalog: CatalogFeed;
  private applied = 0;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly proxy: ProxyServer,
    count: number,
    private readonly log: Logger,
  ) {
    this.catalog = new CatalogFeed(proxy, (tables) => this.pool.broadcast({ type: 'services', tables }));
    const stream = (log as unknown as Record<symbol, { write(text: string): unknown }>)[
      pino.symbols.streamSym
    ]!;
    this.pool = new WorkerPool({
      count,
      log,
      write: (text) => stream.write(text),
      endpoints: () => allEndpointLists(proxy),
      services: () => this.catalog.tables(),
    });
    this.feed = new EndpointFeed(proxy, (endpoints) => this.pool.broadcast({ type: 'endpoints', endpoints }));
    new EndpointCounters(proxy, this.pool);
    this.pool.on('catalog', (worker, names) => {
      const endpoints = this.catalog.answer(names);
      if (Object.keys(endpoints).length > 0) this.pool.send(worker, { type: 'endpoints', endpoints });
    });
    this.pool.on('stats', (_, stats) => this.catalog.keep(stats.catalogUsed));
  }

  /**
   * Starts the workers on the config `proxy` runs (its own listeners: UDP only). Rejects,
   * with nothing left running but `proxy`, when a worker cannot bind. Needs reusePort
   * (support.ts: the caller checks before anything binds).
   */
  static async start(proxy: ProxyServer, config: Config, log: Logger): Promise<WorkerThreads> {
    const threads = new WorkerThreads(proxy, workerCount(config.workers), log);
    threads.catalog.follow(config.catalog);
    try {
      await threads.pool.start(config);
    } catch (error) {
      threads.close();
      throw error;
    }
    threads.applied = proxy.version;
    return threads;
  }

  get events() {
    return this.proxy.events;
  }

  get current(): Runtime | undefined {
    return this.proxy.current;
  }

  /** Configs applied everywhere (a refused one that the main thread undid does not count). */
  get version(): number {
    return this.applied;
  }

  get draining(): boolean {
    return this.stopping !== undefined;
  }

  async apply(config: Config): Promise<Runtime> {
    const previous = this.proxy.current?.config;
    const runtime = await this.proxy.apply(config);
    this.catalog.follow(config.catalog);
    try {
      await this.pool.apply(config);
    } catch (error) {
      if (previous) {
        await this.proxy.apply(previous).catch((undo: Error) => {
          this.log.error({ err: undo }, 'the main thread could not go back to the running config');
        });
        this.catalog.follow(previous.catalog);
      }
      throw error;
    }
    this.applied++;
    if (workerCount(config.workers) !== this.pool.size) {
      this.log.warn(
        { running: this.pool.size, configured: config.workers },
        'workers changes apply on restart',
      );
    }
    return runtime;
  }

  /** Where the workers bound each TCP listener, as `name@address` for the start line. */
  listenerAddresses(): string[] {
    return Object.entries(this.pool.boundAddresses()).map(([name, address]) => `${name}@${address}`);
  }

  adminSource(
    reloads: { readonly lastResult: ReloadResult | undefined },
    registrar?: RegistrationsSource,
  ): AdminSource {
    return new WorkersAdminSource(this.proxy, reloads, registrar, this.pool, this);
  }

  /** Every worker and the main thread (UDP listeners, then clusters) drain and stop. */
  drain(): Promise<void> {
    // At once, as a single process does: both stop accepting and drain for drainTimeout.
    this.stopping ??= Promise.all([this.pool.drain(), this.proxy.shutdown()]).then(() => this.close());
    return this.stopping;
  }

  private close(): void {
    this.feed.close();
    this.catalog.close();
  }
}
