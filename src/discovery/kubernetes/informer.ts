/**
 * List, then watch, one collection through the lean client, and keep it that way.
 *
 * - Lists are paginated (`limit`/`continue`). A re-list compares each object's
 *   resourceVersion with the one last applied and hands the owner only what changed, then
 *   removes what is gone: after a 410 or a reconnect the owner sees the difference, not the
 *   whole collection again.
 * - Watches ask for bookmarks and resume from the last resourceVersion seen (event or
 *   bookmark) when the server ends the stream; a 410 Gone re-lists at once.
 * - Any other failure (refused, reset, 5xx, 401, a TLS error, a list timeout, a watch silent
 *   past the watchdog) re-lists after a capped, jittered exponential backoff. The objects
 *   the owner holds stay as they are meanwhile (static stability).
 */
import type { Logger } from '../../core/log.js';
import type { KubeApi } from './api.js';
import { KubeApiError, WatchIdleError } from './api.js';
import { objectName, type ParseResult } from './objects.js';

export interface InformerTuning {
  /** First restart delay after a failure; doubles up to `maxBackoffMs`. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /**
   * Restart an attempt that showed no sign of life (list page, event, bookmark) for this
   * long: the catch-all for anything the timeouts below do not cover.
   */
  watchdogMs: number;
  /**
   * A watch stream that sends no byte for this long is closed and resumed from the last
   * resourceVersion. Servers send a bookmark about once a minute, so a quiet but healthy
   * watch is not torn down, and a dead connection is noticed within this.
   */
  watchTimeoutMs: number;
  /** A list page that has not answered within this fails the attempt. */
  listTimeoutMs: number;
  /** Wait before resuming a watch the server ended right after it began. */
  maxRewatchDelayMs: number;
  /** Objects per list page. */
  pageSize: number;
}

export const DEFAULT_INFORMER_TUNING: InformerTuning = {
  initialBackoffMs: 500,
  maxBackoffMs: 30_000,
  watchdogMs: 300_000,
  watchTimeoutMs: 180_000,
  listTimeoutMs: 60_000,
  maxRewatchDelayMs: 1000,
  pageSize: 500,
};

export interface InformerSpec<T> {
  /** For logs: `endpointslices shop`. */
  description: string;
  /** Collection path, e.g. `/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  parse(object: unknown): ParseResult<T>;
}

/** Where an informer's objects go; keys are `namespace/name`. */
export interface InformerSink<T> {
  upsert(key: string, value: T): void;
  remove(key: string): void;
  /** A list completed: every object the server has was handed over. */
  listed(): void;
}

/** What the last complete list changed (tests and logs). */
export interface ListOutcome {
  changed: number;
  removed: number;
  unchanged: number;
}

type Fields = Record<string, unknown>;

function fields(value: unknown): Fields | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : undefined;
}

function resourceVersionOf(object: unknown): string | undefined {
  const version = fields(fields(object)?.metadata)?.resourceVersion;
  return typeof version === 'string' && version !== '' ? version : undefined;
}

/** `namespace/name`, or undefined when the object has no name. */
export function objectKey(object: unknown): string | undefined {
  const name = objectName(object);
  if (name === undefined) return undefined;
  const namespace = fields(fields(object)?.metadata)?.namespace;
  return `${typeof namespace === 'string' ? namespace : ''}/${name}`;
}

export class ResilientInformer<T> {
  synced = false;
  lastError: string | undefined;
  restarts = 0;
  /** Where a resumed watch starts: the last list, event or bookmark. */
  resourceVersion = '';
  lists = 0;
  lastList: ListOutcome | undefined;
  /** resourceVersion of every object applied, by key: what a re-list compares against. */
  private readonly versions = new Map<string, string>();
  private attempt = 0;
  private stopped = true;
  private failuresInARow = 0;
  private lastActivity = 0;
  private attemptStarted = 0;
  private controller: AbortController | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly api: KubeApi,
    private readonly spec: InformerSpec<T>,
    private readonly tuning: InformerTuning,
    logger: Logger,
    private readonly sink: InformerSink<T>,
  ) {
    this.log = logger.child({ informer: spec.description });
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const checkEvery = Math.max(50, Math.min(this.tuning.watchdogMs / 4, 10_000));
    let lastCheck = Date.now();
    this.watchdog = setInterval(() => {
      const now = Date.now();
      const late = now - lastCheck - checkEvery;
      lastCheck = now;
      // A check that runs late means the event loop itself stalled (a long GC, a starved
      // CPU): the watch could not deliver meanwhile, so the stall is not its silence.
      if (late > checkEvery) this.lastActivity += late;
      this.checkWatchdog();
    }, checkEvery);
    this.watchdog.unref();
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.attempt++;
    clearInterval(this.watchdog);
    clearTimeout(this.restartTimer);
    this.controller?.abort();
    this.controller = undefined;
  }

  private async run(): Promise<void> {
    const attempt = ++this.attempt;
    const alive = () => !this.stopped && attempt === this.attempt;
    const controller = new AbortController();
    this.controller = controller;
    this.attemptStarted = this.lastActivity = Date.now();
    try {
      let relist = true;
      while (alive()) {
        if (relist) await this.list(controller.signal, alive);
        relist = false;
        const started = Date.now();
        const gone = await this.watchOnce(controller.signal, alive);
        if (!alive()) return;
        if (gone) {
          this.log.info({ resourceVersion: this.resourceVersion }, 'watch expired (410 Gone); re-listing');
          relist = true;
        } else if (Date.now() - started < this.tuning.maxRewatchDelayMs) {
          // A server that ends every watch at once must not be asked again in a tight loop.
          await new Promise((resolve) => setTimeout(resolve, this.tuning.maxRewatchDelayMs).unref());
        }
      }
    } catch (error) {
      if (alive()) this.failed(describe(error));
    }
  }

  private touch(): void {
    this.lastActivity = Date.now();
  }

  /** Every page, applying only what differs from what was applied before. */
  private async list(signal: AbortSignal, alive: () => boolean): Promise<void> {
    const { path, labelSelector, fieldSelector } = this.spec;
    const seen = new Set<string>();
    const outcome: ListOutcome = { changed: 0, removed: 0, unchanged: 0 };
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      this.touch();
      const page = await this.listPage(
        path,
        { labelSelector, fieldSelector, limit: this.tuning.pageSize, continue: continueToken },
        signal,
      );
      if (!alive()) throw new KubeApiError('abandoned attempt');
      this.touch();
      for (const item of page.items) {
        const key = objectKey(item);
        if (key === undefined) {
          this.log.warn({ problem: 'no metadata.name' }, 'malformed object skipped');
          continue;
        }
        seen.add(key);
        const version = resourceVersionOf(item);
        if (version !== undefined && this.versions.get(key) === version) outcome.unchanged++;
        else if (this.apply(key, item, version)) outcome.changed++;
      }
      continueToken = page.continueToken;
      resourceVersion = page.resourceVersion;
    } while (continueToken !== undefined);
    for (const key of this.versions.keys()) {
      if (seen.has(key)) continue;
      this.versions.delete(key);
      this.safely('remove', () => this.sink.remove(key));
      outcome.removed++;
    }
    this.resourceVersion = resourceVersion;
    this.lastList = outcome;
    this.lists++;
    if (this.lastError !== undefined && this.synced)
      this.log.info({ ...outcome }, 'listed again; no longer stale');
    this.lastError = undefined;
    this.synced = true;
    this.safely('listed', () => this.sink.listed());
  }

  private async listPage(
    path: string,
    query: Record<string, string | number | undefined>,
    signal: AbortSignal,
  ) {
    // A page that does not answer aborts its own request, not only the wait for it.
    const page = new AbortController();
    const forward = () => page.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    const ms = this.tuning.listTimeoutMs;
    const timer = setTimeout(() => page.abort(new KubeApiError(`list timed out after ${ms} ms`)), ms);
    try {
      return await this.api.lists.run(() => this.api.listPage(path, query, page.signal));
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', forward);
    }
  }

  /** One watch stream from `resourceVersion`; resolves true on 410 Gone. */
  private async watchOnce(signal: AbortSignal, alive: () => boolean): Promise<boolean> {
    const { path, labelSelector, fieldSelector } = this.spec;
    let gone = false;
    let failure: string | undefined;
    this.touch();
    const idle = (error: unknown) => {
      // Quiet past watchTimeoutMs: likely a dead connection; resume from the last version.
      if (error instanceof WatchIdleError && alive()) {
        this.log.debug({ resourceVersion: this.resourceVersion }, 'watch idle; resuming');
        return;
      }
      throw error;
    };
    await this.api
      .watch(
        path,
        { labelSelector, fieldSelector, resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
        (event) => {
          if (!alive()) return;
          this.touch();
          const outcome = this.onEvent(event);
          if (outcome === 'gone') gone = true;
          else if (outcome !== undefined) failure ??= outcome;
        },
        this.tuning.watchTimeoutMs,
        signal,
      )
      .catch(idle);
    if (failure !== undefined && alive()) throw new KubeApiError(failure);
    return gone;
  }

  /** Applies one watch event; returns 'gone' for a 410, a reason for another ERROR. */
  private onEvent(event: unknown): string | undefined {
    const type = fields(event)?.type;
    const object = fields(event)?.object;
    if (type === 'BOOKMARK') {
      const version = resourceVersionOf(object);
      if (version !== undefined) this.resourceVersion = version;
      return undefined;
    }
    if (type === 'ERROR') {
      const status = fields(object);
      if (status?.code === 410) return 'gone';
      return `watch error: ${String(status?.message ?? 'unknown')} (${String(status?.code ?? '?')})`;
    }
    if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') {
      this.log.warn(
        { problem: event === undefined ? 'not JSON' : 'no event type' },
        'malformed watch event skipped',
      );
      return undefined;
    }
    const key = objectKey(object);
    if (key === undefined) {
      this.log.warn({ phase: type, problem: 'no metadata.name' }, 'malformed watch event skipped');
      return undefined;
    }
    const version = resourceVersionOf(object);
    if (version !== undefined) this.resourceVersion = version;
    if (type === 'DELETED') {
      if (this.versions.delete(key)) this.safely('remove', () => this.sink.remove(key));
    } else this.apply(key, object, version);
    return undefined;
  }

  /** Parses and hands over one object; a malformed one keeps its last good version. */
  private apply(key: string, object: unknown, version: string | undefined): boolean {
    const parsed = this.spec.parse(object);
    const name = objectName(object);
    if (!parsed.ok) {
      this.log.warn({ object: name, problem: parsed.problem }, 'malformed object skipped');
      return false;
    }
    for (const warning of parsed.warnings)
      this.log.warn({ object: name, problem: warning }, 'malformed entry skipped');
    this.versions.set(key, version ?? '');
    this.safely('upsert', () => this.sink.upsert(key, parsed.value));
    return true;
  }

  /** The current attempt is dead: abandon it and list again after a backoff. */
  private failed(reason: string): void {
    // The backoff resets only after an attempt that lasted, so a watch that fails right after
    // each successful list still backs off instead of re-listing twice a second.
    if (Date.now() - this.attemptStarted > this.tuning.maxBackoffMs) this.failuresInARow = 0;
    this.failuresInARow++;
    this.lastError = reason;
    const exponent = Math.min(this.failuresInARow - 1, 20);
    const base = Math.min(this.tuning.maxBackoffMs, this.tuning.initialBackoffMs * 2 ** exponent);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    const details = { error: reason, failuresInARow: this.failuresInARow, retryInMs: delay };
    const message = this.synced
      ? 'watch failed; keeping the last known objects and retrying'
      : 'cannot list yet; retrying';
    // Credentials and certificates do not fix themselves: say so louder than a reset.
    if (/^(TLS|the API server refused|not allowed)/.test(reason)) this.log.error(details, message);
    else this.log.warn(details, message);
    this.attempt++;
    this.controller?.abort();
    this.controller = undefined;
    this.restarts++;
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (!this.stopped) void this.run();
    }, delay);
    this.restartTimer.unref();
  }

  private checkWatchdog(): void {
    if (this.stopped || this.controller === undefined) return;
    const silentFor = Date.now() - this.lastActivity;
    if (silentFor < this.tuning.watchdogMs) return;
    this.failed(`watch silent for ${silentFor} ms (watchdog)`);
  }

  private safely(what: string, fn: () => unknown): void {
    try {
      fn();
    } catch (error) {
      this.log.error({ error: describe(error) }, `${what} handler threw; ignored`);
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
