/**
 * An in-process `portside run`: the proxy started from a config file in a temp directory,
 * with the file watcher and (when the config has one) the admin server, exactly as the
 * CLI composes them. Tests rewrite the file and await the resulting reload event.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Portside, startPortside } from '../../src/cli/run.js';
import { formatProblem, loadConfigText } from '../../src/config/load.js';
import type { ReloadResult } from '../../src/core/events.js';
import { captureLogger } from './proxy.js';

export interface ReloadingProxy {
  portside: Portside;
  file: string;
  lines: Record<string, unknown>[];
  port(listener: string): number;
  /** Writes the config file and resolves with the reload it causes. */
  edit(yaml: string): Promise<ReloadResult>;
  /** `http://admin-address` + path. */
  adminUrl(path: string): string;
}

export async function startReloadingProxy(
  t: { after: (fn: () => Promise<void>) => void },
  yaml: string,
): Promise<ReloadingProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'portside-reload-'));
  const file = join(dir, 'portside.yaml');
  writeFileSync(file, yaml);
  const { config, problems } = loadConfigText(yaml, file);
  if (!config) throw new Error(problems.map(formatProblem).join('\n'));
  const { logger, lines } = captureLogger();
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
    async edit(next) {
      const reloaded = once(proxy.events, 'reload') as Promise<[ReloadResult]>;
      writeFileSync(file, next);
      return (await reloaded)[0];
    },
    adminUrl(path) {
      if (!operations.admin) throw new Error('the config has no admin section');
      return `http://${operations.admin.address}${path}`;
    },
  };
}
