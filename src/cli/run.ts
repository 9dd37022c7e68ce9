import { formatProblem, loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger, type LogLevel } from '../core/log.js';
import { ProxyServer } from '../core/proxy.js';
import { packageVersion } from './version.js';

export interface RunOptions {
  configFile: string;
  logLevel: LogLevel;
  logPretty: boolean;
}

/** A started Portside: the proxy and what `run` needs to stop it. */
export interface Portside {
  proxy: ProxyServer;
  log: Logger;
  /** Drain and stop; resolves when every listener has finished. */
  stop(): Promise<void>;
}

/** Starts the proxy on an already-validated config. Throws when a listener cannot bind. */
export async function startPortside(config: Config, configFile: string, log: Logger): Promise<Portside> {
  const proxy = new ProxyServer(log);
  await proxy.apply(config);
  log.info(
    {
      version: packageVersion(),
      config: configFile,
      listeners: proxy.activeListeners.map((l) => `${l.name}@${l.boundAddress}`),
    },
    'portside started',
  );
  return {
    proxy,
    log,
    stop: async () => {
      await proxy.shutdown();
    },
  };
}

/** `portside run -c FILE`: serve until SIGTERM/SIGINT, then drain and exit 0. */
export async function runCommand(options: RunOptions): Promise<number> {
  const { config, problems } = await loadConfigFile(options.configFile);
  for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
  if (!config) {
    process.stderr.write(`${options.configFile}: invalid config; nothing started\n`);
    return 1;
  }
  const log = createLogger(options.logLevel, options.logPretty);
  let portside: Portside;
  try {
    portside = await startPortside(config, options.configFile, log);
  } catch (error) {
    log.fatal({ err: error }, 'cannot start');
    process.stderr.write(`portside: ${(error as Error).message}\n`);
    return 1;
  }
  return waitForSignalThenDrain(portside);
}

function waitForSignalThenDrain(portside: Portside): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
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
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
