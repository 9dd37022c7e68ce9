/**
 * A client-node informer (ListWatch) made resilient. The library re-watches by itself only
 * after a clean close, a client timeout or a 410; after any other error (reset, refused, 5xx,
 * a failed list) it emits `error` and stops for good. So each attempt here is a fresh
 * ListWatch; when one fails, or goes silent past the watchdog, it is abandoned and a new one
 * starts after a capped, jittered exponential backoff. Objects of the last good attempt stay
 * current until the new attempt has listed (static stability).
 *
 * Also handled: `stop()` makes the old request emit a spurious AbortError (ignored: errors of
 * abandoned attempts are dropped); a throwing callback would become an unhandled rejection
 * inside the library (every callback here is guarded); objects without metadata would make
 * the library itself throw (they are filtered out before it sees them).
 */
import type { Logger } from '../../core/log.js';
import type { KubeClient, KubernetesModule } from './client.js';
import { objectName, type ParseResult } from './objects.js';

export interface InformerTuning {
  /** First restart delay after a failure; doubles up to `maxBackoffMs`. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /**
   * Restart an attempt that showed no sign of life (list, connect, event, bookmark) for this
   * long: the catch-all for anything the timeouts below do not cover.
   */
  watchdogMs: number;
  /**
   * The library's inactivity timeout for one watch stream; it then re-watches from the last
   * resourceVersion. Watches ask for bookmarks, which servers send about once a minute, so a
   * quiet but healthy watch is not torn down, and a dead connection is noticed within this.
   */
  watchTimeoutMs: number;
  /** A list that has not answered within this fails the attempt. */
  listTimeoutMs: number;
  /** Cap on the library's delay before re-watching after a clean close (it grows to 30 s). */
  maxRewatchDelayMs: number;
}

export const DEFAULT_INFORMER_TUNING: InformerTuning = {
  initialBackoffMs: 500,
  maxBackoffMs: 30_000,
  watchdogMs: 300_000,
  watchTimeoutMs: 180_000,
  listTimeoutMs: 60_000,
  maxRewatchDelayMs: 1000,
};

export interface InformerSpec<T> {
  /** For logs: `endpointslices shop/orders`. */
  description: string;
  /** Collection path, e.g. `/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  list(client: KubeClient): Promise<{ items: unknown[]; metadata?: { resourceVersion?: string } }>;
  parse(object: unknown): ParseResult<T>;
}

type WatchCallback = (phase: string, object: unknown, raw: unknown) => unknown;
type DoneCallback = (error: unknown) => void;

export class ResilientInformer<T> {
  /** Objects by name, from the last attempt that listed successfully. */
  current: ReadonlyMap<string, T> = new Map();
  synced = false;
  lastError: string | undefined;
  restarts = 0;
  private attempt = 0;
  private stopped = true;
  private failuresInARow = 0;
  private lastActivity = 0;
  private attemptStarted = 0;
  private abandon: (() => void) | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly client: KubeClient,
    private readonly spec: InformerSpec<T>,
    private readonly tuning: InformerTuning,
    logger: Logger,
    /** Called (synchronously, possibly many times in a burst) when `current` or `synced` changes. */
    private readonly onChange: () => void,
  ) {
    this.log = logger.child({ informer: spec.description });
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const checkEvery = Math.max(50, Math.min(this.tuning.watchdogMs / 4, 10_000));
    this.watchdog = setInterval(() => this.checkWatchdog(), checkEvery);
    this.watchdog.unref();
    this.run();
  }

  stop(): void {
    this.stopped = true;
    this.attempt++;
    clearInterval(this.watchdog);
    clearTimeout(this.restartTimer);
    this.abandon?.();
    this.abandon = undefined;
  }

  private run(): void {
    const attempt = ++this.attempt;
    const alive = () => !this.stopped && attempt === this.attempt;
    const objects = new Map<string, T>();
    let listed = false;
    this.attemptStarted = this.lastActivity = Date.now();
    const touch = () => {
      if (alive()) this.lastActivity = Date.now();
    };
    const changed = () => {
      if (alive() && listed) this.safely('change handler', this.onChange);
    };

    const upsert = (object: unknown) => {
      const name = objectName(object) ?? '?';
      const parsed = this.spec.parse(object);
      if (!parsed.ok) {
        // Keep the last good version of this object rather than guess.
        this.log.warn({ object: name, problem: parsed.problem }, 'malformed object skipped');
        return;
      }
      for (const warning of parsed.warnings)
        this.log.warn({ object: name, problem: warning }, 'malformed entry skipped');
      objects.set(name, parsed.value);
      changed();
    };
    const remove = (object: unknown) => {
      const name = objectName(object);
      if (name !== undefined && objects.delete(name)) changed();
    };

    const list = async () => {
      touch();
      const result = await this.client.lists.run(() =>
        withTimeout(this.spec.list(this.client), this.tuning.listTimeoutMs, 'list'),
      );
      if (!alive()) throw new Error('abandoned attempt');
      touch();
      // Objects without a name would make the library throw while caching them.
      result.items = result.items.filter((item) => {
        if (objectName(item) !== undefined) return true;
        this.log.warn({ problem: 'no metadata.name' }, 'malformed object skipped');
        return false;
      });
      // The library caches the items right after this promise resolves; then this attempt is current.
      setImmediate(() => {
        if (!alive()) return;
        listed = true;
        this.lastError = undefined;
        this.current = objects;
        this.synced = true;
        this.safely('change handler', this.onChange);
      });
      return result;
    };

    const libraryWatch = new this.client.k8s.Watch(this.client.config);
    // Private in the typings but read on every watch; 30 s by default in client-node 2.0.
    (libraryWatch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = this.tuning.watchTimeoutMs;
    const guardedWatch = {
      watch: async (
        path: string,
        query: Record<string, string | number | boolean | undefined>,
        callback: WatchCallback,
        done: DoneCallback,
      ) => {
        // The library may start a watch after its list resolved even though we abandoned it.
        if (!alive()) return new AbortController();
        touch();
        return libraryWatch.watch(
          path,
          { ...query, allowWatchBookmarks: true },
          (phase, object, raw) => {
            if (!alive()) return;
            touch();
            if (
              (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') &&
              objectName(object) === undefined
            ) {
              this.log.warn({ phase, problem: 'no metadata.name' }, 'malformed watch event skipped');
              return;
            }
            this.safely('watch event', () => {
              const pending = callback(phase, object, raw);
              if (pending instanceof Promise) pending.catch((error) => this.logThrown('watch event', error));
            });
          },
          done,
        );
      },
    };

    const informer = new this.client.k8s.ListWatch<never>(
      this.spec.path,
      guardedWatch as unknown as InstanceType<KubernetesModule['Watch']>,
      list as never,
      false,
      this.spec.labelSelector,
      this.spec.fieldSelector,
      {
        delayFn: (ms: number) =>
          new Promise((resolve) => setTimeout(resolve, Math.min(ms, this.tuning.maxRewatchDelayMs))),
      },
    );
    informer.on('add', (o) => this.safely('add handler', () => alive() && upsert(o)));
    informer.on('update', (o) => this.safely('update handler', () => alive() && upsert(o)));
    informer.on('delete', (o) => this.safely('delete handler', () => alive() && remove(o)));
    informer.on('connect', () => touch());
    informer.on('error', (error) =>
      this.safely('error handler', () => alive() && this.failed(String(describe(error)))),
    );
    this.abandon = () => {
      informer.stop().catch(() => {});
    };
    informer.start().catch((error) => {
      if (alive()) this.failed(describe(error));
    });
  }

  /** The current attempt is dead: abandon it and start another after a backoff. */
  private failed(reason: string): void {
    // The backoff resets only after an attempt that lasted, so a watch that fails right after
    // each successful list still backs off instead of re-listing twice a second.
    if (Date.now() - this.attemptStarted > this.tuning.maxBackoffMs) this.failuresInARow = 0;
    this.failuresInARow++;
    this.lastError = reason;
    const exponent = Math.min(this.failuresInARow - 1, 20);
    const base = Math.min(this.tuning.maxBackoffMs, this.tuning.initialBackoffMs * 2 ** exponent);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.log.warn(
      {
        error: reason,
        failuresInARow: this.failuresInARow,
        retryInMs: delay,
        keptObjects: this.current.size,
      },
      this.synced ? 'watch failed; keeping the last known objects and retrying' : 'cannot list yet; retrying',
    );
    this.attempt++;
    this.abandon?.();
    this.abandon = undefined;
    this.restarts++;
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (!this.stopped) this.run();
    }, delay);
    this.restartTimer.unref();
  }

  private checkWatchdog(): void {
    if (this.stopped || this.abandon === undefined) return;
    const silentFor = Date.now() - this.lastActivity;
    if (silentFor < this.tuning.watchdogMs) return;
    this.failed(`watch silent for ${silentFor} ms (watchdog)`);
  }

  private safely(what: string, fn: () => unknown): void {
    try {
      fn();
    } catch (error) {
      this.logThrown(what, error);
    }
  }

  private logThrown(what: string, error: unknown): void {
    this.log.error({ error: describe(error) }, `${what} threw; ignored`);
  }
}

/** Rejects when `promise` has not settled within `ms` (the request itself is left to finish). */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const status =
      (error as { statusCode?: number; code?: number | string }).statusCode ??
      (error as { code?: unknown }).code;
    return status !== undefined ? `${error.message} (${status})` : error.message;
  }
  return String(error);
}
