import { loadConfigFileInChild } from '../config/load-in-child.js';
import { formatProblem, type LoadResult } from '../config/problem.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger, type LogLevel } from '../core/log.js';
import { packageVersion } from '../core/package-info.js';
import { ProxyServer } from '../core/proxy.js';
import { BindError } from '../listeners/bind-error.js';
import { Registrar } from '../registry/registrar.js';
import { reusePortMissing, workerCount } from '../workers/support.js';
import type { WorkerThreads } from '../workers/threads.js';
import { type Operations, startOperations } from './operations.js';
import { prettyLogs } from './pretty-logs.js';

export interface RunOptions {
  configFile: string;
  logLevel: LogLevel;
  logPretty: boolean;
  /** Called once starting has succeeded or failed, before serving or exiting. */
  afterStart?: () => void;
}

/** A started Portside: the proxy and what `run` needs to stop it. */
export interface Portside {
  proxy: ProxyServer;
  log: Logger;
  /** Hot reload and the admin server. */
  operations: Operations;
  /** The `register:` entries this node announces in etcd. */
  registrar: Registrar;
  /** `workers: N` (N > 1): the worker threads serving the TCP listeners. */
  workers?: WorkerThreads;
  /** Drain and stop; resolves when every listener has finished. */
  stop(): Promise<void>;
}

/** Starts the proxy on an already-validated config. Throws when a listener cannot bind. */
export async function startPortside(
  config: Config,
  configFile: string,
  log: Logger,
  options: { watch?: boolean } = {},
): Promise<Portside> {
  // Read before the listeners open: once they serve, clients may take every descriptor.
  const version = packageVersion();
  const threads = workerCount(config.workers) > 1;
  const missing = threads ? reusePortMissing() : undefined;
  if (missing) throw new Error(missing);
  // With worker threads, this thread keeps discovery, health and admin, and serves UDP only.
  const proxy = new ProxyServer(log, threads ? { serves: (l) => l.protocol === 'udp' } : {});
  await proxy.apply(config);
  const registrar = new Registrar(log);
  let workers: WorkerThreads | undefined;
  let operations: Operations;
  try {
    if (threads)
      workers = await (await import('../workers/threads.js')).WorkerThreads.start(proxy, config, log);
    operations = await startOperations({
      proxy,
      registrar,
      config,
      configFile,
      log,
      watch: options.watch ?? false,
      ...(workers ? { workers } : {}),
    });
  } catch (error) {
    await (workers?.drain() ?? proxy.shutdown());
    throw error;
  }
  announce(registrar, proxy, config, log);
  log.info(
    {
      version,
      config: configFile,
      listeners: proxy.activeListeners
        .map((l) => `${l.name}@${l.boundAddress}`)
        .concat(workers?.listenerAddresses() ?? []),
      ...(workers ? { workers: workers.pool.size } : {}),
    },
    'portside started',
  );
  return {
    proxy,
    log,
    operations,
    registrar,
    ...(workers ? { workers } : {}),
    stop: async () => {
      await Promise.all([registrar.stop(), workers?.drain() ?? proxy.shutdown()]);
      await operations.close();
    },
  };
}

/**
 * Announces the config's `register:` entries, follows reloads, and withdraws everything as
 * soon as the proxy starts draining (SIGTERM or the admin API's POST /drain), not after.
 */
function announce(registrar: Registrar, proxy: ProxyServer, config: Config, log: Logger): void {
  const apply = (next: Config) =>
    registrar.apply(next).catch((error) => log.error({ err: error }, 'cannot apply register entries'));
  void apply(config);
  proxy.events.on('reload', (result) => {
    const current = proxy.current?.config;
    if (result.ok && current) void apply(current);
  });
  proxy.events.once('draining', () => void registrar.stop());
}

/** `portside run -c FILE`: serve until SIGTERM/SIGINT, then drain and exit 0. */
export async function runCommand(options: RunOptions): Promise<number> {
  let loaded: LoadResult;
  try {
    loaded = await loadConfigFileInChild(options.configFile);
  } catch (error) {
    process.stderr.write(`${options.configFile}: cannot load the config: ${(error as Error).message}\n`);
    return 1;
  }
  const { config, problems } = loaded;
  for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
  if (!config) {
    process.stderr.write(`${options.configFile}: invalid config; nothing started\n`);
    return 1;
  }
  const log = createLogger(options.logLevel, prettyLogs(options.logPretty));
  // Listening for signals before starting: a SIGTERM while listeners are already bound but
  // the admin server or watcher is still starting must drain, not kill the process.
  const signals = catchSignals();
  let portside: Portside;
  try {
    portside = await startPortside(config, options.configFile, log, { watch: true });
  } catch (error) {
    signals.dispose();
    // A port taken or refused is the operator's to fix: one line, no stack.
    if (error instanceof BindError) log.fatal({ address: error.address, code: error.code }, error.message);
    else log.fatal({ err: error }, 'cannot start');
    process.stderr.write(`portside: ${(error as Error).message}\n`);
    return 1;
  } finally {
    options.afterStart?.();
  }
  return signals.drainOnSignal(portside);
}

/** SIGTERM/SIGINT handlers installed at once; signals that arrive before the proxy runs are replayed. */
function catchSignals() {
  const early: NodeJS.Signals[] = [];
  let deliver = (signal: NodeJS.Signals) => {
    early.push(signal);
  };
  const handler = (signal: NodeJS.Signals) => deliver(signal);
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return {
    dispose() {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
    },
    drainOnSignal(portside: Portside): Promise<number> {
      return new Promise((resolve) => {
        deliver = drainOnFirstSignal(portside, resolve);
        for (const signal of early.splice(0)) deliver(signal);
      });
    },
  };
}

/** First signal: drain, then resolve 0 (1 if draining fails). A second one: resolve 1 at once. */
function drainOnFirstSignal(portside: Portside, resolve: (code: number) => void) {
  let stopping = false;
  return (signal: NodeJS.Signals) => {
    if (stopping) {
      portside.log.warn({ signal }, 'second signal: exiting without waiting for connections');
      resolve(1);
      return;
    }
    stopping = true;
    portside.log.info({ signal }, 'shutting down');
    portside.stop().then(
      () => resolve(0),
      (error) => {
        portside.log.error({ err: error }, 'error while draining');
        resolve(1);
      },
    );
  };
}
