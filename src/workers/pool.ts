/**
 * The worker threads of `workers: N` and what the main thread tells them. Every worker
 * serves every TCP listener (SO_REUSEPORT: the kernel spreads connections over them) with
 * clusters fed by the main thread (fed-source.ts). Configs go to one worker first (it binds
 * port-0 listeners and says where), then to the others; a worker that fails has the ones
 * that applied put back on the previous config. A worker that dies is logged and started
 * again with the current config; only its own connections are lost.
 */
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { ListenerStatus } from '../admin/source.js';
import { sumUpstream, type UpstreamTotals } from '../admin/upstream-tally.js';
import type { Config, ListenerConfig } from '../config/schema.js';
import { ms } from '../config/values.js';
import type { Logger } from '../core/log.js';
import { BindError } from '../listeners/bind-error.js';
import { sumListeners } from './listener-sum.js';
import type {
  EndpointLists,
  FromWorker,
  ServiceTable,
  ToWorker,
  WorkerData,
  WorkerStats,
} from './messages.js';

type Outcome = { ok: true; bound: Record<string, string> } | { ok: false; error: Error } | { gone: true };

/** One worker thread's place: it keeps its number across restarts. */
interface Slot {
  readonly id: number;
  worker: Worker | undefined;
  restarts: number;
  /** Restarts in a row of workers that died young: the next start waits longer. */
  crashes: number;
  startedAt: number;
  lastError: Error | undefined;
  stats: WorkerStats | undefined;
  readonly pending: Map<number, (outcome: Outcome) => void>;
  statsWaiters: (() => void)[];
  drained: ((cut: number) => void) | undefined;
  /** Port-0 listeners this worker bound itself (by name): it keeps them as configured. */
  portZero: Set<string>;
}

export interface PoolOptions {
  count: number;
  log: Logger;
  /** Where the workers' log lines go: the main thread's log stream. */
  write: (text: string) => void;
  /** The main thread's endpoint lists, sent with each config. */
  endpoints: () => EndpointLists;
  /** The catalog's Service tables, sent with each config. */
  services: () => ServiceTable[];
  /** Worker entry; default the compiled or tsx-loaded worker-main next to this file. */
  entry?: URL;
}

const isPortZero = (l: ListenerConfig) => l.address.endsWith(':0');

/** How long past drainTimeout a draining worker may take to say it is done before it is ended. */
const DRAIN_GRACE_MS = 5000;

/** A worker that lived less than this before dying counts as a crash loop: its restart waits. */
const YOUNG_MS = 10_000;

export class WorkerPool extends EventEmitter<{
  stats: [number, WorkerStats];
  exit: [number];
  /** A worker asks for these catalog clusters' endpoint lists. */
  catalog: [number, string[]];
}> {
  private readonly slots: Slot[];
  private readonly log: Logger;
  /** The config every worker serves (undefined until the first one applied). */
  private current: Config | undefined;
  /** Where port-0 listeners ended up, by name, for the workers that did not bind them first. */
  private readonly resolved = new Map<string, string>();
  /** Listener counters of workers that died, so totals never go down. */
  private retired: ListenerStatus[][] = [];
  /** Upstream outcomes of workers that died, summed. */
  private retiredUpstream: UpstreamTotals[] = [];
  /** Applies, restarts and drain run one at a time. */
  private chain: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private stopping = false;
  private readonly entry: URL;

  constructor(private readonly options: PoolOptions) {
    super();
    this.log = options.log;
    const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
    this.entry = options.entry ?? new URL(`./worker-main.${ext}`, import.meta.url);
    this.slots = Array.from({ length: options.count }, (_, id) => ({
      id,
      worker: undefined,
      restarts: 0,
      crashes: 0,
      startedAt: 0,
      lastError: undefined,
      stats: undefined,
      pending: new Map(),
      statsWaiters: [],
      drained: undefined,
      portZero: new Set(),
    }));
  }

  get size(): number {
    return this.slots.length;
  }

  /** Starts every worker on `config`; rejects (with every worker stopped) when one cannot apply it. */
  async start(config: Config): Promise<void> {
    for (const slot of this.slots) this.spawn(slot);
    try {
      await this.apply(config);
    } catch (error) {
      await this.terminateAll();
      throw error;
    }
  }

  apply(config: Config): Promise<void> {
    return this.serially(() => this.applyNow(config));
  }

  /** Each worker's number, whether it runs, and how often it was restarted. */
  workers(): { id: number; alive: boolean; restarts: number }[] {
    return this.slots.map((s) => ({ id: s.id, alive: s.worker !== undefined, restarts: s.restarts }));
  }

  /** The worker threads, for tests that kill one. */
  threads(): (Worker | undefined)[] {
    return this.slots.map((s) => s.worker);
  }

  /** Listener counters of every worker, live ones last reported and dead ones as they were. */
  listenerStats(): { live: ListenerStatus[][]; retired: ListenerStatus[][] } {
    const live: ListenerStatus[][] = [];
    for (const slot of this.slots) if (slot.worker && slot.stats) live.push(slot.stats.listeners);
    return { live, retired: this.retired };
  }

  /** Upstream outcomes of every worker: live ones as last reported, dead ones summed. */
  upstreamStats(): UpstreamTotals[] {
    const live = this.slots.flatMap((s) => (s.worker && s.stats ? [s.stats.upstream] : []));
    return live.concat(this.retiredUpstream);
  }

  /** Endpoints some live worker's outlier detection ejects now: worker numbers by `cluster\0endpoint`. */
  ejected(): Map<string, number[]> {
    const byEndpoint = new Map<string, number[]>();
    for (const slot of this.slots) {
      if (!slot.worker || !slot.stats) continue;
      for (const [cluster, endpoint] of slot.stats.ejected) {
        const key = `${cluster}\u0000${endpoint}`;
        byEndpoint.set(key, [...(byEndpoint.get(key) ?? []), slot.id]);
      }
    }
    return byEndpoint;
  }

  /** Where each listener is bound, as the workers report it. */
  boundAddresses(): Record<string, string> {
    const bound: Record<string, string> = {};
    for (const l of this.current?.listeners ?? []) {
      if (l.protocol !== 'udp') bound[l.name] = this.resolved.get(l.name) ?? l.address;
    }
    return bound;
  }

  broadcast(message: ToWorker): void {
    for (const slot of this.slots) this.post(slot, message);
  }

  /** To one worker, by number. */
  send(worker: number, message: ToWorker): void {
    const slot = this.slots[worker];
    if (slot) this.post(slot, message);
  }

  /** Fresh counters from every worker (answered within `timeoutMs`, else the last ones stand). */
  async refresh(timeoutMs = 250): Promise<void> {
    const waits = this.slots
      .filter((s) => s.worker)
      .map(
        (slot) =>
          new Promise<void>((resolve) => {
            slot.statsWaiters.push(resolve);
            this.post(slot, { type: 'stats' });
          }),
      );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all(waits), timeout]);
    clearTimeout(timer);
  }

  /** Every worker drains (drainTimeout) and stops; resolves with the connections cut. Workers are not restarted after. */
  drain(): Promise<number> {
    this.stopping = true;
    return this.serially(async () => {
      const cuts = await Promise.all(
        this.slots.map(async (slot) => {
          const worker = slot.worker;
          if (!worker) return 0;
          // A worker stuck in a loop never answers: it is ended once its drainTimeout is surely over.
          const limitMs = ms(this.current?.drainTimeout ?? '30s') + DRAIN_GRACE_MS;
          let timer: NodeJS.Timeout | undefined;
          const cut = await new Promise<number>((resolve) => {
            slot.drained = resolve;
            timer = setTimeout(() => {
              this.log.warn({ worker: slot.id }, `worker ${slot.id} did not finish draining; ending it`);
              resolve(0);
            }, limitMs);
            this.post(slot, { type: 'drain' });
          });
          clearTimeout(timer);
          await worker.terminate();
          return cut;
        }),
      );
      return cuts.reduce((a, b) => a + b, 0);
    });
  }

  private serially<T>(run: () => Promise<T>): Promise<T> {
    const next = this.chain.then(run);
    this.chain = next.catch(() => {});
    return next;
  }

  private async applyNow(config: Config): Promise<void> {
    const alive = this.slots.filter((s) => s.worker);
    const [first, ...rest] = alive;
    if (!first) throw new Error('no worker thread is running');
    const added: string[] = [];
    const applied: Slot[] = [];
    const firstOutcome = await this.applyTo(first, config);
    let failure = 'error' in firstOutcome ? firstOutcome.error : undefined;
    if ('bound' in firstOutcome) {
      applied.push(first);
      // The first worker bound the new port-0 listeners: the others join it there.
      for (const l of config.listeners) {
        if (!isPortZero(l) || l.protocol === 'udp' || this.resolved.has(l.name)) continue;
        const address = firstOutcome.bound[l.name];
        if (address === undefined) continue;
        this.resolved.set(l.name, address);
        first.portZero.add(l.name);
        added.push(l.name);
      }
      const outcomes = await Promise.all(rest.map((slot) => this.applyTo(slot, config)));
      outcomes.forEach((outcome, i) => {
        if ('bound' in outcome) applied.push(rest[i]!);
        else if ('error' in outcome) failure ??= outcome.error;
      });
    }
    if (!failure) {
      this.current = config;
      this.forgetResolved(config);
      return;
    }
    for (const name of added) {
      this.resolved.delete(name);
      first.portZero.delete(name);
    }
    const previous = this.current;
    if (previous) {
      const back = await Promise.all(applied.map((slot) => this.applyTo(slot, previous)));
      for (const outcome of back) {
        if ('error' in outcome)
          this.log.error({ err: outcome.error }, 'a worker could not go back to the running config');
      }
    }
    throw failure;
  }

  /** Port-0 listeners the config no longer has (or no longer on port 0) are bound afresh if they come back. */
  private forgetResolved(config: Config): void {
    const zero = new Set(config.listeners.filter(isPortZero).map((l) => l.name));
    for (const name of this.resolved.keys()) if (!zero.has(name)) this.resolved.delete(name);
    for (const slot of this.slots)
      for (const name of slot.portZero) if (!zero.has(name)) slot.portZero.delete(name);
  }

  /**
   * What one worker applies: no active checks, the catalog's template included (the main
   * thread's verdict comes with the endpoints), port 0 resolved.
   */
  private forWorker(slot: Slot, config: Config): Config {
    const catalog = config.catalog;
    return {
      ...config,
      clusters: config.clusters.map(({ healthCheck: _, ...cluster }) => cluster),
      ...(catalog
        ? { catalog: { ...catalog, template: (({ healthCheck: _, ...t }) => t)(catalog.template) } }
        : {}),
      listeners: config.listeners.map((l) => {
        if (!isPortZero(l) || slot.portZero.has(l.name)) return l;
        const address = this.resolved.get(l.name);
        return address === undefined ? l : { ...l, address };
      }),
    };
  }

  private applyTo(slot: Slot, config: Config): Promise<Outcome> {
    if (!slot.worker) return Promise.resolve({ gone: true });
    const seq = ++this.seq;
    return new Promise((resolve) => {
      slot.pending.set(seq, resolve);
      this.post(slot, {
        type: 'apply',
        seq,
        config: this.forWorker(slot, config),
        endpoints: this.options.endpoints(),
        services: this.options.services(),
      });
    });
  }

  private post(slot: Slot, message: ToWorker): void {
    slot.worker?.postMessage(message);
  }

  private spawn(slot: Slot): Worker {
    const workerData: WorkerData = { id: slot.id, logLevel: this.log.level };
    const worker = new Worker(this.entry, { workerData });
    slot.worker = worker;
    slot.startedAt = Date.now();
    slot.lastError = undefined;
    slot.stats = undefined;
    slot.portZero = new Set();
    worker.on('message', (message: FromWorker) => this.receive(slot, message));
    worker.on('error', (error) => {
      slot.lastError = error;
    });
    worker.once('exit', (code) => this.exited(slot, worker, code));
    return worker;
  }

  private receive(slot: Slot, message: FromWorker): void {
    switch (message.type) {
      case 'log':
        this.options.write(message.text);
        return;
      case 'applied':
        slot.pending.get(message.seq)?.({ ok: true, bound: message.bound });
        slot.pending.delete(message.seq);
        return;
      case 'failed': {
        const { bind } = message;
        const error = bind
          ? new BindError(
              bind.what,
              bind.address,
              Object.assign(new Error(message.message), { code: bind.code }),
            )
          : new Error(message.message);
        slot.pending.get(message.seq)?.({ ok: false, error });
        slot.pending.delete(message.seq);
        return;
      }
      case 'catalog':
        this.emit('catalog', slot.id, message.want);
        return;
      case 'stats': {
        const { type: _, ...stats } = message;
        slot.stats = stats;
        this.emit('stats', slot.id, stats);
        for (const resolve of slot.statsWaiters.splice(0)) resolve();
        return;
      }
      case 'drained':
        slot.drained?.(message.cut);
        slot.drained = undefined;
    }
  }

  private exited(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    for (const resolve of slot.pending.values()) resolve({ gone: true });
    slot.pending.clear();
    for (const resolve of slot.statsWaiters.splice(0)) resolve();
    slot.drained?.(0);
    slot.drained = undefined;
    if (slot.stats) {
      const dead = slot.stats.listeners.map((l) => ({ ...l, activeConnections: 0 }));
      // Folded into one list: a worker in a crash loop must not grow it without end.
      this.retired = [sumListeners([...this.retired, dead])];
      this.retiredUpstream = [sumUpstream([...this.retiredUpstream, slot.stats.upstream])];
    }
    slot.stats = undefined;
    this.emit('exit', slot.id);
    if (this.stopping) return;
    const why = slot.lastError ? `uncaught exception: ${slot.lastError.message}` : `exit code ${code}`;
    slot.crashes = Date.now() - slot.startedAt < YOUNG_MS ? slot.crashes + 1 : 0;
    const delayMs = slot.crashes <= 1 ? 0 : Math.min(5000, 100 * 2 ** slot.crashes);
    this.log.error(
      { worker: slot.id, exitCode: code, err: slot.lastError, restartInMs: delayMs },
      `worker ${slot.id} died (${why}); restarting it`,
    );
    slot.restarts++;
    setTimeout(() => {
      this.serially(() => this.restart(slot)).catch((error: Error) => {
        this.log.error({ worker: slot.id, err: error }, `worker ${slot.id} cannot be started again`);
      });
    }, delayMs).unref();
  }

  private async restart(slot: Slot): Promise<void> {
    if (this.stopping || slot.worker || !this.current) return;
    const worker = this.spawn(slot);
    const outcome = await this.applyTo(slot, this.current);
    if ('error' in outcome) {
      this.log.error(
        { worker: slot.id, err: outcome.error },
        `worker ${slot.id} cannot apply the running config`,
      );
      await worker.terminate();
    } else if ('bound' in outcome) this.log.info({ worker: slot.id }, `worker ${slot.id} restarted`);
  }

  private async terminateAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.slots.map((s) => s.worker?.terminate()));
  }
}
