/**
 * Re-reads the config file and applies it to the proxy. An invalid file or a failed apply
 * (a port that cannot be bound) leaves the running generation serving; either way the
 * outcome is logged, kept as `lastResult` and emitted as a `reload` event.
 */
import { loadConfigFileInChild } from '../config/load-in-child.js';
import { formatProblem, type LoadResult } from '../config/problem.js';
import type { Config } from '../config/schema.js';
import { diffConfigs, hasChanges, summarizeChanges } from './config-diff.js';
import type { ReloadResult } from './events.js';
import type { Logger } from './log.js';
import type { ProxyServer } from './proxy.js';

/** What a reload applies configs to: the proxy, or (workers: N) the main thread and its workers. */
export type Reloadable = Pick<ProxyServer, 'apply' | 'version' | 'current' | 'events'>;

export class ConfigReloader {
  private last: ReloadResult | undefined;
  /** The chain reloads run on, one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  /** A reload waiting for the running one: later requests join it (it reads the newest file anyway). */
  private queued: Promise<ReloadResult | undefined> | undefined;

  constructor(
    private readonly proxy: Reloadable,
    private readonly file: string,
    private readonly log: Logger,
  ) {}

  get lastResult(): ReloadResult | undefined {
    return this.last;
  }

  /** Records the config the proxy started with as the first applied version. */
  started(config: Config): void {
    this.record({
      ok: true,
      version: this.proxy.version,
      at: Date.now(),
      summary: `initial config: ${summarizeChanges(diffConfigs(undefined, config))}`,
    });
  }

  /**
   * Reloads the file. Resolves with the result, or undefined when the file's config equals
   * the running one (nothing to apply). Never rejects.
   */
  reload(trigger: string): Promise<ReloadResult | undefined> {
    if (this.queued) return this.queued;
    const run = this.queue.then(() => {
      this.queued = undefined;
      return this.reloadNow(trigger);
    });
    this.queued = run;
    this.queue = run.catch(() => {});
    return run;
  }

  private async reloadNow(trigger: string): Promise<ReloadResult | undefined> {
    const running = this.proxy.version;
    const started = performance.now();
    let loaded: LoadResult;
    try {
      loaded = await loadConfigFileInChild(this.file);
    } catch (error) {
      const message = `cannot load the config: ${(error as Error).message}`;
      this.log.error({ trigger, err: error }, `config reload rejected: ${message}`);
      return this.fail(trigger, [message], message);
    }
    const { config, problems } = loaded;
    for (const p of problems) if (p.severity === 'warning') this.log.warn({ trigger }, formatProblem(p));
    if (!config) {
      const errors = problems.filter((p) => p.severity === 'error').map(formatProblem);
      for (const error of errors) this.log.error({ trigger }, `config reload rejected: ${error}`);
      return this.fail(
        trigger,
        errors,
        `invalid config (${errors.length} error${errors.length === 1 ? '' : 's'})`,
      );
    }

    const changes = diffConfigs(this.proxy.current?.config, config);
    if (!hasChanges(changes)) {
      this.log.info({ trigger, version: running }, 'config reload: no changes');
      // A file put back as it was after a rejected edit clears the error shown by /config.
      if (this.last?.ok === false) {
        return this.record({ ok: true, version: running, at: Date.now(), summary: 'no changes' });
      }
      return undefined;
    }

    const summary = summarizeChanges(changes);
    const loadMs = Math.round(performance.now() - started);
    try {
      await this.proxy.apply(config);
    } catch (error) {
      const message = (error as Error).message;
      this.log.error({ trigger }, `config reload failed: ${message}`);
      return this.fail(trigger, [message], `apply failed (${summary})`);
    }
    const version = this.proxy.version;
    const applyMs = Math.round(performance.now() - started) - loadMs;
    this.log.info(
      { trigger, version, previous: running, loadMs, applyMs },
      `config reloaded: v${version}: ${summary}`,
    );
    return this.record({ ok: true, version, at: Date.now(), summary });
  }

  private fail(trigger: string, errors: string[], what: string): ReloadResult {
    const version = this.proxy.version;
    this.log.warn({ trigger, version }, `config reload rejected; still serving version ${version}`);
    return this.record({
      ok: false,
      version,
      at: Date.now(),
      summary: `${what}; still serving v${version}`,
      errors,
    });
  }

  private record(result: ReloadResult): ReloadResult {
    this.last = result;
    this.proxy.events.emit('reload', result);
    return result;
  }
}
