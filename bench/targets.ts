/**
 * What the load is pointed at: the upstream directly (the limit), Portside L4 and L7 (the real
 * CLI), and the baselines (nginx, HAProxy, http-proxy). Each proxy is its own process,
 * pinned to the proxy CPU, so its RSS and CPU are its own.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { checkH2 } from './h2-check.js';
import { nodeFlagsOf } from './node-flags.js';
import {
  haproxyH2Config,
  haproxyHttpConfig,
  haproxyTcpConfig,
  type L4Ports,
  NGINX_STREAM_MODULE,
  nginxH2Config,
  nginxProxyConfig,
  nginxStreamConfig,
} from './peer-configs.js';
import { portsideH2Config, portsideL4Config, portsideL7Config } from './portside-config.js';
import {
  benchScript,
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
 */
export type Layer = 'l4' | 'l7' | 'h2' | 'tls';

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

const upstreamL4 = (u: Upstreams): L4Ports => ({ http: u.httpPort, bulk: u.bulkPort });
const portsideCli = (root: string) => join(root, 'dist', 'src', 'cli', 'main.js');

/**
 * `node FLAGS [--cpu-prof …] ROOT/dist/src/cli/main.js run -c FILE --log-level warn`, where
 * FLAGS are the Node flags of the CLI's own `#!` line, the ones every documented way of
 * starting Portside uses: the benchmark measures Portside as it is deployed.
 */
function portsideArgs(context: TargetContext, root: string, configFile: string, name: string): string[] {
  const profile = context.profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${join(context.profileDir, name)}`]
    : [];
  const cli = portsideCli(root);
  return [...nodeFlagsOf(cli), ...profile, cli, 'run', '-c', configFile, '--log-level', 'warn'];
}

async function l4Ports(): Promise<L4Ports> {
  return { http: await freePort(), bulk: await freePort() };
}

/**
 * Starts a proxy process, waits for its ports, checks one request passes (an HTTP/1.1 GET,
 * for h2 targets an h2c GET and a gRPC call, for tls targets a GET over TLS served with the
 * bench's certificate), records fresh RSS.
 */
async function launch(
  spec: Pick<TargetSpec, 'name' | 'layers'>,
  ports: { httpPort: number; bulkPort?: number },
  command: string,
  args: string[],
  context: TargetContext,
): Promise<Target> {
  const tls = context.tls;
  const check = spec.layers.includes('h2')
    ? checkH2
    : spec.layers.includes('tls') && tls
      ? (name: string, port: number) => checkHttps(name, port, tls)
      : checkGet;
  const start = async () => {
    const started = startProcess(spec.name, command, args, context.pinning.proxy);
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
    rssFresh: rssBytes(started.child.pid!),
    restart: async () => {
      await stopProcess(target.process!);
      target.process = await start();
    },
  };
  return target;
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

const needs = (command: string) => () => (commandExists(command) ? undefined : `${command} is not installed`);

/** The certificate of the tls targets: run.ts makes it before starting them. */
function tlsFiles(context: TargetContext): TlsFiles {
  if (!context.tls) throw new Error('no certificate for the tls targets');
  return context.tls;
}

/**
 * Portside L4 and L7, run as the real CLI of the checkout at `root` (this one by default).
 * `--compare DIR` adds a second pair, `portside-l4@base`…, built from another checkout, so an
 * optimisation is measured against its baseline in the same interleaved run.
 */
export function portsideTargets(root?: string, suffix = ''): TargetSpec[] {
  const cli = (context: TargetContext) => root ?? context.repoRoot;
  const unavailable = (context: TargetContext) =>
    existsSync(portsideCli(cli(context)))
      ? undefined
      : `${portsideCli(cli(context))} missing (npm run build)`;
  return [
    {
      name: `portside-l4${suffix}`,
      layers: ['l4'],
      unavailable,
      async start(context) {
        const ports = await l4Ports();
        const file = join(context.dir, `${this.name}.yaml`);
        writeFileSync(file, portsideL4Config(ports, upstreamL4(context.upstreams)));
        const args = portsideArgs(context, cli(context), file, this.name);
        return launch(this, { httpPort: ports.http, bulkPort: ports.bulk }, process.execPath, args, context);
      },
    },
    {
      name: `portside-l7${suffix}`,
      layers: ['l7'],
      unavailable,
      async start(context) {
        const port = await freePort();
        const file = join(context.dir, `${this.name}.yaml`);
        writeFileSync(file, portsideL7Config(port, context.upstreams.httpPort));
        const args = portsideArgs(context, cli(context), file, this.name);
        return launch(this, { httpPort: port }, process.execPath, args, context);
      },
    },
    {
      name: `portside-tls${suffix}`,
      layers: ['tls'],
      unavailable,
      async start(context) {
        const port = await freePort();
        const file = join(context.dir, `${this.name}.yaml`);
        writeFileSync(file, portsideL7Config(port, context.upstreams.httpPort, tlsFiles(context)));
        const args = portsideArgs(context, cli(context), file, this.name);
        return launch(this, { httpPort: port }, process.execPath, args, context);
      },
    },
    {
      name: `portside-h2${suffix}`,
      layers: ['h2'],
      unavailable,
      async start(context) {
        const port = await freePort();
        const file = join(context.dir, `${this.name}.yaml`);
        writeFileSync(file, portsideH2Config(port, context.upstreams.h2Port!));
        const args = portsideArgs(context, cli(context), file, this.name);
        return launch(this, { httpPort: port }, process.execPath, args, context);
      },
    },
  ];
}

function httpProxyTarget(name: string, mode: 'naive' | 'keepalive'): TargetSpec {
  return {
    name,
    layers: ['l7'],
    unavailable: () => undefined,
    async start(context) {
      const port = await freePort();
      const [node, args] = benchScript('http-proxy-server');
      const target = `http://127.0.0.1:${context.upstreams.httpPort}`;
      return launch(this, { httpPort: port }, node, [...args, String(port), target, mode], context);
    },
  };
}

export const TARGETS: TargetSpec[] = [
  {
    name: 'direct',
    layers: ['l4', 'l7', 'h2'],
    unavailable: () => undefined,
    start: async ({ upstreams }) => ({
      name: 'direct',
      layers: upstreams.h2Port === undefined ? ['l4', 'l7'] : ['l4', 'l7', 'h2'],
      httpPort: upstreams.httpPort,
      bulkPort: upstreams.bulkPort,
      h2Port: upstreams.h2Port,
    }),
  },
  ...portsideTargets(),
  {
    name: 'nginx',
    layers: ['l7'],
    unavailable: needs('nginx'),
    async start(context) {
      const port = await freePort();
      const file = join(context.dir, 'nginx.conf');
      writeFileSync(file, nginxProxyConfig(context.dir, port, context.upstreams.httpPort));
      return launch(this, { httpPort: port }, 'nginx', ['-p', context.dir, '-c', file], context);
    },
  },
  {
    name: 'nginx-stream',
    layers: ['l4'],
    unavailable: () =>
      !commandExists('nginx')
        ? 'nginx is not installed'
        : existsSync(NGINX_STREAM_MODULE)
          ? undefined
          : 'the nginx stream module is not installed (libnginx-mod-stream)',
    async start(context) {
      const ports = await l4Ports();
      const file = join(context.dir, 'nginx-stream.conf');
      writeFileSync(file, nginxStreamConfig(context.dir, ports, upstreamL4(context.upstreams)));
      const args = ['-p', context.dir, '-c', file];
      return launch(this, { httpPort: ports.http, bulkPort: ports.bulk }, 'nginx', args, context);
    },
  },
  {
    name: 'haproxy',
    layers: ['l7'],
    unavailable: needs('haproxy'),
    async start(context) {
      const port = await freePort();
      const file = join(context.dir, 'haproxy-http.cfg');
      writeFileSync(file, haproxyHttpConfig(port, context.upstreams.httpPort));
      return launch(this, { httpPort: port }, 'haproxy', ['-db', '-f', file], context);
    },
  },
  {
    name: 'nginx-tls',
    layers: ['tls'],
    unavailable: needs('nginx'),
    async start(context) {
      const port = await freePort();
      const file = join(context.dir, 'nginx-tls.conf');
      writeFileSync(file, nginxProxyConfig(context.dir, port, context.upstreams.httpPort, tlsFiles(context)));
      return launch(this, { httpPort: port }, 'nginx', ['-p', context.dir, '-c', file], context);
    },
  },
  {
    name: 'haproxy-tls',
    layers: ['tls'],
    unavailable: needs('haproxy'),
    async start(context) {
      const port = await freePort();
      const file = join(context.dir, 'haproxy-tls.cfg');
      writeFileSync(file, haproxyHttpConfig(port, context.upstreams.httpPort, tlsFiles(context)));
      return launch(this, { httpPort: port }, 'haproxy', ['-db', '-f', file], context);
    },
  },
  {
    name: 'nginx-h2',
    layers: ['h2'],
    unavailable: needs('nginx'),
    async start(context) {
      const port = await freePort();
      const file = join(context.dir, 'nginx-h2.conf');
      writeFileSync(file, nginxH2Config(context.dir, port, context.upstreams.h2Port!));
      return launch(this, { httpPort: port }, 'nginx', ['-p', context.dir, '-c', file], context);
    },
  },
  {
    name: 'haproxy-h2',
    layers: ['h2'],
    unavailable: needs('haproxy'),
    async start(context) {
      const port = await freePort();
      const file = join(context.dir, 'haproxy-h2.cfg');
      writeFileSync(file, haproxyH2Config(port, context.upstreams.h2Port!));
      return launch(this, { httpPort: port }, 'haproxy', ['-db', '-f', file], context);
    },
  },
  {
    name: 'haproxy-tcp',
    layers: ['l4'],
    unavailable: needs('haproxy'),
    async start(context) {
      const ports = await l4Ports();
      const file = join(context.dir, 'haproxy-tcp.cfg');
      writeFileSync(file, haproxyTcpConfig(ports, upstreamL4(context.upstreams)));
      const args = ['-db', '-f', file];
      return launch(this, { httpPort: ports.http, bulkPort: ports.bulk }, 'haproxy', args, context);
    },
  },
  httpProxyTarget('http-proxy', 'naive'),
  httpProxyTarget('http-proxy-ka', 'keepalive'),
  {
    name: 'h2-floor',
    layers: ['h2'],
    unavailable: () => undefined,
    async start(context) {
      const port = await freePort();
      const [node, args] = benchScript('h2-floor-proxy');
      // Portside's own V8 flags (its small young generation), so the two differ only in code.
      const flags = nodeFlagsOf(portsideCli(context.repoRoot));
      const upstream = String(context.upstreams.h2Port);
      return launch(this, { httpPort: port }, node, [...flags, ...args, String(port), upstream], context);
    },
  },
  {
    name: 'undici-floor',
    layers: ['l7'],
    unavailable: () => undefined,
    async start(context) {
      const port = await freePort();
      const [node, args] = benchScript('undici-proxy-server');
      const target = `http://127.0.0.1:${context.upstreams.httpPort}`;
      return launch(this, { httpPort: port }, node, [...args, String(port), target], context);
    },
  },
];
