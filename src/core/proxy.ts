import type { Config, ListenerConfig } from '../config/schema.js';
import { ms } from '../config/values.js';
import type { ConnectionHandler } from '../listeners/handler.js';
import { Listener } from '../listeners/listener.js';
import { AffinityRegistry } from '../balancing/index.js';
import { HealthRegistry } from '../health/registry.js';
import { EndpointStateRegistry } from './endpoint.js';
import { ProxyEvents } from './events.js';
import type { Logger } from './log.js';
import { Runtime } from './runtime.js';

/** Listeners keep their socket across reloads when their address is unchanged. */
function listenerKey(listener: ListenerConfig): string {
  return listener.address.endsWith(':0') ? `name:${listener.name}` : listener.address;
}

/**
 * The running proxy: owns the listeners (by address) and the current generation.
 * `apply` builds the next generation beside the current one, binds new listeners, swaps
 * handlers, then retires what the new config no longer has. A failed apply changes nothing.
 */
export class ProxyServer {
  readonly states = new EndpointStateRegistry();
  readonly affinity = new AffinityRegistry();
  readonly health = new HealthRegistry();
  readonly events = new ProxyEvents();
  private readonly listeners = new Map<string, Listener>();
  private runtime: Runtime | undefined;
  private draining = false;

  constructor(private readonly log: Logger) {}

  get current(): Runtime | undefined {
    return this.runtime;
  }

  get version(): number {
    return this.runtime?.version ?? 0;
  }

  /** Listeners currently accepting, in config order. */
  get activeListeners(): Listener[] {
    return [...this.listeners.values()];
  }

  listener(name: string): Listener | undefined {
    for (const l of this.listeners.values()) if (l.name === name) return l;
    return undefined;
  }

  async apply(config: Config): Promise<Runtime> {
    if (this.draining) throw new Error('the proxy is draining; no new config is applied');
    const next = new Runtime(config, this.version + 1, {
      logger: this.log,
      states: this.states,
      affinity: this.affinity,
      health: this.health,
      events: this.events,
    });
    next.start();

    const wanted = new Map<string, ListenerConfig>();
    for (const l of config.listeners) wanted.set(listenerKey(l), l);
    const bound: [string, Listener][] = [];
    try {
      for (const [key, l] of wanted) {
        if (this.listeners.has(key)) continue;
        const listener = new Listener(l.name, l.address);
        listener.swapHandler(next.createHandler(l, listener.stats));
        await listener.bind();
        bound.push([key, listener]);
        this.log.info(
          { listener: l.name, address: listener.boundAddress, protocol: l.protocol },
          'listener bound',
        );
      }
    } catch (error) {
      for (const [, listener] of bound) listener.stopAccepting();
      next.stop();
      throw error;
    }

    const previous = this.runtime;
    const retiring: Listener[] = [];
    for (const [key, listener] of this.listeners) {
      const l = wanted.get(key);
      if (!l) {
        retiring.push(listener);
        this.listeners.delete(key);
        continue;
      }
      listener.name = l.name;
      const retired = listener.swapHandler(next.createHandler(l, listener.stats));
      if (retired) this.retireHandler(listener, retired);
    }
    for (const [key, listener] of bound) this.listeners.set(key, listener);
    this.runtime = next;
    previous?.stop();
    this.affinity.retainOnly(config.clusters.filter((c) => c.balancing.affinity).map((c) => c.name));

    const drainMs = ms(config.drainTimeout);
    for (const listener of retiring) {
      this.log.info(
        { listener: listener.name, open: listener.openConnections },
        'listener removed; draining',
      );
      void listener
        .drain(drainMs)
        .then((cut) => this.log.info({ listener: listener.name, cut }, 'listener drained'));
    }
    return next;
  }

  /** A retired handler keeps its connections until they end (L7: idle keep-alives close). */
  private retireHandler(listener: Listener, handler: ConnectionHandler): void {
    void handler.drain().then(() => listener.release(handler));
  }

  /**
   * Graceful shutdown: stop accepting everywhere, let open connections finish for up to
   * `drainTimeout`, then cut the rest. Resolves when every listener is done.
   */
  async shutdown(): Promise<{ cut: number }> {
    this.draining = true;
    const drainMs = this.runtime ? ms(this.runtime.config.drainTimeout) : 0;
    const open = this.activeListeners.reduce((n, l) => n + l.openConnections, 0);
    this.log.info({ open, drainTimeoutMs: drainMs }, 'draining');
    const cuts = await Promise.all(this.activeListeners.map((l) => l.drain(drainMs)));
    this.runtime?.stop();
    const cut = cuts.reduce((a, b) => a + b, 0);
    this.log.info({ cut }, 'drained');
    return { cut };
  }
}
