import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatProblem, loadConfigText } from '../config/load.js';
import { createLogger, type LogLevel } from '../core/log.js';
import { prettyLogs } from './pretty-logs.js';
import { startPortside } from './run.js';

export interface DemoOptions {
  /** Port of the demo's TCP listener; the HTTP listener takes the next one (or 0 with 0). */
  port: number;
  logLevel: LogLevel;
}

/** A tiny upstream that says who it is, so balancing is visible with curl. */
function startUpstream(name: string): Promise<Server> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello from upstream ${name} (${req.method} ${req.url})\n`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** The demo's config, built as YAML text so it goes through the same loader as a real file. */
export function demoConfig(
  tcpPort: number,
  upstreamPorts: number[],
  httpPort = tcpPort === 0 ? 0 : tcpPort + 1,
  adminPort = tcpPort === 0 ? 0 : tcpPort + 2,
): string {
  return `# portside demo: a TCP and an HTTP listener balancing over two local upstreams
listeners:
  - name: demo-tcp
    address: 127.0.0.1:${tcpPort}
    protocol: tcp
    cluster: demo
    connectTimeout: 1s
    idleTimeout: 1m
  - name: demo-http
    address: 127.0.0.1:${httpPort}
    protocol: http
    routes:
      - name: api
        match: { pathPrefix: /api/ }
        cluster: demo
        rewrite: { pathPrefix: / }
        requestHeaders: { set: { x-via: portside-demo } }
      - name: everything-else
        match: { pathPrefix: / }
        cluster: demo
clusters:
  - name: demo
    endpoints:
${upstreamPorts.map((p) => `      - 127.0.0.1:${p}`).join('\n')}
    balancing: { policy: round_robin }
    upstreamProtocol: http1   # the demo upstreams speak HTTP/1.1; HTTP/2 clients are translated
    healthCheck: { interval: 2s, timeout: 500ms, tcp: {} }
admin:
  address: 127.0.0.1:${adminPort}   # dashboard, /metrics, /clusters
drainTimeout: 2s
`;
}

/** `portside demo`: starts two upstreams and Portside in front of them, prints what to try. */
export async function demoCommand(options: DemoOptions): Promise<number> {
  const upstreams = await Promise.all(['A', 'B'].map(startUpstream));
  const ports = upstreams.map((s) => (s.address() as AddressInfo).port);
  const text = demoConfig(options.port, ports);
  const { config, problems } = loadConfigText(text, 'demo.yaml');
  if (!config) {
    for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
    return 1;
  }
  const log = createLogger(options.logLevel, prettyLogs(true));
  let portside: Awaited<ReturnType<typeof startPortside>>;
  try {
    portside = await startPortside(config, 'demo.yaml', log);
  } catch (error) {
    process.stderr.write(
      `portside demo: ${(error as Error).message}\n(the demo uses three ports from --port on; try another: npm start -- --port 11000)\n`,
    );
    for (const s of upstreams) s.close();
    return 1;
  }
  const port = portside.proxy.listener('demo-tcp')?.port ?? options.port;
  const httpPort = portside.proxy.listener('demo-http')?.port ?? options.port + 1;
  const admin = portside.operations.admin?.address;
  process.stdout.write(`
Portside demo is running. Upstreams A and B listen on 127.0.0.1:${ports.join(' and 127.0.0.1:')};
Portside balances TCP connections to them from 127.0.0.1:${port} (round robin).

Try, in another terminal:
  curl -s http://127.0.0.1:${port}/        # run it twice: A, then B
  printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 ${port}

and through the HTTP listener on 127.0.0.1:${httpPort} (routed per request, round robin):
  curl -si http://127.0.0.1:${httpPort}/api/users   # /api/ is rewritten to /, x-request-id added
  curl -s http://127.0.0.1:${httpPort}/hello       # per request: A, then B

Live dashboard: http://${admin}/   (also http://${admin}/metrics and /clusters)

The config in use:
${text.replace(/^/gm, '  ')}
Each finished connection and request is logged below. Ctrl-C drains and stops.
`);
  return new Promise((resolve) => {
    const stop = () => {
      void portside.stop().then(() => {
        for (const s of upstreams) s.close();
        resolve(0);
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
