/**
 * An in-process `portside run`: the proxy started from a config file in a temp directory,
 * with the file watcher and (when the config has one) the admin server, exactly as the
 * CLI composes them. Tests rewrite the file and await the resulting reload event.
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { type Portside, startPortside } from '../../src/cli/run.js';
import { formatProblem, loadConfigText } from '../../src/config/load.js';
import type { ReloadResult } from '../../src/core/events.js';
import { captureLogger } from './proxy.js';

export interface ReloadingProxy {
  portside: Portside;
  file: string;
  lines: Record<string, unknown>[];
  port(listener: string): number;
  /** Writes the config file and resolves with the reload it causes; rejects if none comes in `timeoutMs`. */
  edit(yaml: string, timeoutMs?: number): Promise<ReloadResult>;
  /** `http://admin-address` + path. */
  adminUrl(path: string): string;
}

export interface ReloadingProxyOptions {
  /**
   * Also write every log line to this file next to the config, as `portside run -c
   * portside.yaml > portside.log` does. Lines other than access-log lines are still
   * captured in `lines`.
   */
  logFile?: string;
}

export async function startReloadingProxy(
  t: { after: (fn: () => Promise<void>) => void },
  yaml: string,
  options: ReloadingProxyOptions = {},
): Promise<ReloadingProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'portside-reload-'));
  const file = join(dir, 'portside.yaml');
  writeFileSync(file, yaml);
  const { config, problems } = loadConfigText(yaml, file);
  if (!config) throw new Error(problems.map(formatProblem).join('\n'));
  const { logger, lines } = options.logFile ? teeLogger(join(dir, options.logFile)) : captureLogger();
  const portside = await startPortside(config, file, logger, { watch: true });
  t.after(async () => {
    await portside.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const { proxy, operations } = portside;
  return {
    portside,
    file,
    lines,
    port(name) {
      const listener = proxy.listener(name);
      if (!listener) throw new Error(`no listener "${name}"`);
      return listener.port;
    },
    async edit(next, timeoutMs = 60_000) {
      const reloaded = once(proxy.events, 'reload', {
        signal: AbortSignal.timeout(timeoutMs),
      }) as Promise<[ReloadResult]>;
      writeFileSync(file, next);
      try {
        return (await reloaded)[0];
      } catch (error) {
        if ((error as Error).name !== 'AbortError') throw error;
        throw new Error(`the config edit caused no reload within ${timeoutMs} ms`);
      }
    },
    adminUrl(path) {
      if (!operations.admin) throw new Error('the config has no admin section');
      return `http://${operations.admin.address}${path}`;
    },
  };
}

/** A logger at info level whose lines are appended to `path` and, but for access-log lines, captured. */
function teeLogger(path: string) {
  const lines: Record<string, unknown>[] = [];
  const out = createWriteStream(path, { flags: 'a' });
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split('\n')) {
        if (!text) continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        if (line.msg !== 'http request') lines.push(line);
      }
      out.write(chunk, done);
    },
    final(done) {
      out.end(done);
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}
