import { Writable } from 'node:stream';
import { pino } from 'pino';
import { formatProblem, loadConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { Logger } from '../../src/core/log.js';
import { ProxyServer } from '../../src/core/proxy.js';

/** A pino logger whose JSON lines tests can read. */
export function captureLogger(level = 'info'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

export interface TestProxy {
  proxy: ProxyServer;
  lines: Record<string, unknown>[];
  /** Bound port of a listener, by name. */
  port(listener: string): number;
  stop(): Promise<void>;
}

/** A valid config from YAML text; a problem throws, listing every one. */
export function parseConfig(yaml: string, file = 'test.yaml'): Config {
  const { config, problems } = loadConfigText(yaml, file);
  if (!config) throw new Error(problems.map(formatProblem).join('\n'));
  return config;
}

/** Starts an in-process proxy from YAML text (use port 0 listeners). */
export async function startProxy(yaml: string): Promise<TestProxy> {
  const config = parseConfig(yaml);
  const { logger, lines } = captureLogger();
  const proxy = new ProxyServer(logger);
  await proxy.apply(config);
  return {
    proxy,
    lines,
    port(name) {
      const l = proxy.listener(name);
      if (!l) throw new Error(`no listener "${name}"`);
      return l.port;
    },
    async stop() {
      await proxy.shutdown();
    },
  };
}
