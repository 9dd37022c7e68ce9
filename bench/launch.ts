/**
 * What a target is and how one is started: every proxy is its own process, pinned to the
 * proxy CPU, so its RSS and CPU are its own. The targets themselves are in targets.ts (the
 * upstream and the peers) and portside-targets.ts.
 */
import { statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { checkH2 } from './h2-check.js';
import type { L4Ports } from './peer-configs.js';
import {
  commandExists,
  freePort,
  type Pinning,
  rssBytes,
  type Started,
  startProcess,
  stopProcess,
  waitForPort,
} from './processes.js';
import { checkHttps, type TlsFiles } from './tls-certificate.js';
import type { Upstreams } from './upstreams.js';

/**
 * l4: TCP proxying; l7: HTTP/1.1 both sides; h2: h2c both sides (the h2 scenarios); tls:
 * HTTP/1.1 over TLS from clients, plain HTTP/1.1 to the upstream (the tls scenarios).
 * l7-log and l4-log: the same, with each proxy logging as it does out of the box, to a file
 * (the `*-default` scenarios); l7-workers and l4-workers: Portside with its `workers` key.
 */
export type Layer = 'l4' | 'l7' | 'h2' | 'tls' | 'l7-log' | 'l4-log' | 'l7-workers' | 'l4-workers';

export interface Target {
  name: string;
  layers: Layer[];
  /** Where HTTP load goes (HTTP/2 load too, on h2 targets). */
  httpPort: number;
  /** Where `direct` takes HTTP/2 load: the h2c upstream. */
  h2Port?: number;
  /** Where the L4 bulk reader connects (L4 targets and direct). */
  bulkPort?: number;
  /** The proxy process (absent for direct). */
  process?: Started;
  /** The file the proxy logs to (the logging targets). */
  logFile?: string;
  /** RSS right after start and one request, before any load. */
  rssFresh?: number;
  /** RSS of a fresh process after sitting idle (`--settle` seconds), once V8 has trimmed its start-up heap. */
  rssSettled?: number;
  /** Replaces `process` with a fresh one on the same ports and config (proxies only). */
  restart?(): Promise<void>;
}

export interface TargetContext {
  dir: string;
  repoRoot: string;
  pinning: Pinning;
  upstreams: Upstreams;
  /** When set, Portside runs with `--cpu-prof` and writes its profile here on exit. */
  profileDir: string | undefined;
  /** The certificate the tls targets terminate with (made only when a tls scenario runs). */
  tls?: TlsFiles;
}

export interface TargetSpec {
  name: string;
  layers: Layer[];
  /** Why this target cannot run here, or undefined when it can. */
  unavailable(context: TargetContext): string | undefined;
  start(context: TargetContext): Promise<Target>;
}

export const upstreamL4 = (u: Upstreams): L4Ports => ({ http: u.httpPort, bulk: u.bulkPort });
export const portsideCli = (root: string) => join(root, 'dist', 'src', 'cli', 'main.js');
export const needs = (command: string) => () =>
  commandExists(command) ? undefined : `${command} is not installed`;

/** The certificate of the tls targets: run.ts makes it before starting them. */
export function tlsFiles(context: TargetContext): TlsFiles {
  if (!context.tls) throw new Error('no certificate for the tls targets');
  return context.tls;
}

export async function l4Ports(): Promise<L4Ports> {
  return { http: await freePort(), bulk: await freePort() };
}

export interface LaunchOptions {
  /** CPUs other than the proxy CPU (the workers targets). */
  cpus?: string;
  /** Where the process's standard output goes, as a daemon's log would (the logging targets). */
  stdoutFile?: string;
  /** The file the target logs to, when it is not its standard output. */
  logFile?: string;
}

/**
 * Starts a proxy process, waits for its ports, checks one request passes (an HTTP/1.1 GET,
 * for h2 targets an h2c GET and a gRPC call, for tls targets a GET over TLS served with the
 * bench's certificate), records fresh RSS.
 */
export async function launch(
  spec: Pick<TargetSpec, 'name' | 'layers'>,
  ports: { httpPort: number; bulkPort?: number },
  command: string,
  args: string[],
  context: TargetContext,
  options: LaunchOptions = {},
): Promise<Target> {
  const tls = context.tls;
  const check = spec.layers.includes('h2')
    ? checkH2
    : spec.layers.includes('tls') && tls
      ? (name: string, port: number) => checkHttps(name, port, tls)
      : checkGet;
  const cpus = options.cpus ?? context.pinning.proxy;
  const start = async () => {
    const started = startProcess(spec.name, command, args, cpus, options.stdoutFile);
    await waitForPort(started, ports.httpPort);
    if (ports.bulkPort) await waitForPort(started, ports.bulkPort);
    await check(spec.name, ports.httpPort);
    return started;
  };
  const started = await start();
  const target: Target = {
    name: spec.name,
    layers: spec.layers,
    ...ports,
    process: started,
    logFile: options.logFile ?? options.stdoutFile,
    rssFresh: rssBytes(started.child.pid!),
    restart: async () => {
      await stopProcess(target.process!);
      target.process = await start();
    },
  };
  return target;
}

/**
 * The size of a target's log file (0 when it has none). The file is never emptied between
 * runs: HAProxy sets its stdout non-blocking with a plain F_SETFL, which drops O_APPEND, so it
 * would go on writing at its old offset; each run's figure is the growth during the run.
 */
export function logSize(target: Target): number {
  return target.logFile ? (statSync(target.logFile, { throwIfNoEntry: false })?.size ?? 0) : 0;
}

/** One GET /small through the target must answer 200, or the target is misconfigured. */
export function checkGet(name: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/small', agent: false }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200
          ? resolve()
          : reject(new Error(`${name}: GET /small answered ${res.statusCode}`)),
      );
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${name}: GET /small timed out`)));
    req.on('error', (error) => reject(new Error(`${name}: GET /small failed: ${error.message}`)));
    req.end();
  });
}
