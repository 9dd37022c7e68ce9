/**
 * Which HTTP forwarding engine costs the least CPU per request: Portside's L7 handler
 * (its own HTTP/1.1 engine, src/l7/h1), http-proxy with a keep-alive agent, and plain node:http with a
 * keep-alive Agent. Each runs in its own process in front of the same tiny upstream; the
 * load generator (autocannon, 50 keep-alive connections) runs here.
 *
 * It reports the forwarder's own CPU time per request (from process.cpuUsage over IPC),
 * which stays meaningful on a shared, busy machine where req/s swings with the neighbours;
 * req/s is printed too. Every run is bounded by a request count.
 *
 *   node --import tsx bench/l7-engines.ts [requests per run = 20000] [rounds = 3]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { Agent, createServer, request } from 'node:http';
import autocannon from 'autocannon';
import httpProxy from 'http-proxy';

type Mode = 'upstream' | 'portside' | 'http-proxy' | 'node-agent';

async function child(mode: Mode, port: number, target: number): Promise<void> {
  if (mode === 'upstream') {
    const body = Buffer.from('hello world\n');
    createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
      res.end(body);
    }).listen(port, '127.0.0.1', () => process.send!('ready'));
  } else if (mode === 'portside') {
    const { loadConfigText } = await import('../src/config/load.js');
    const { createLogger } = await import('../src/core/log.js');
    const { ProxyServer } = await import('../src/core/proxy.js');
    const { config } = loadConfigText(`listeners:
  - { name: web, address: 127.0.0.1:${port}, protocol: http, accessLog: false, routes: [ { match: {}, cluster: up } ] }
clusters:
  - { name: up, endpoints: [127.0.0.1:${target}] }
`);
    await new ProxyServer(createLogger('warn')).apply(config!);
    process.send!('ready');
  } else if (mode === 'http-proxy') {
    const agent = new Agent({ keepAlive: true, maxSockets: 128 });
    const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${target}`, agent });
    proxy.on('error', (_e, _req, res) => {
      if ('writeHead' in res && !res.headersSent) res.writeHead(502);
      res.end();
    });
    createServer((req, res) => proxy.web(req, res)).listen(port, '127.0.0.1', () => process.send!('ready'));
  } else {
    const agent = new Agent({ keepAlive: true, maxSockets: 128 });
    createServer((req, res) => {
      const upstream = request(
        { host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers, agent },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    }).listen(port, '127.0.0.1', () => process.send!('ready'));
  }
  process.on('message', (message) => {
    if (message === 'cpu') process.send!(process.cpuUsage());
  });
}

async function start(mode: Mode, port: number, target = 0): Promise<ChildProcess> {
  const proc = fork(import.meta.filename, ['child', mode, String(port), String(target)], {
    execArgv: ['--import', 'tsx'],
  });
  const [message] = await once(proc, 'message');
  if (message !== 'ready') throw new Error(`${mode} did not start`);
  return proc;
}

async function cpuMicros(proc: ChildProcess): Promise<number> {
  proc.send('cpu');
  const [usage] = (await once(proc, 'message')) as [NodeJS.CpuUsage];
  return usage.user + usage.system;
}

async function main(): Promise<void> {
  const requests = Number(process.argv[2] ?? 20_000);
  const rounds = Number(process.argv[3] ?? 3);
  const base = 18_600 + Math.floor(Math.random() * 300);
  const upstream = await start('upstream', base);
  const engines: [Mode, ChildProcess, number][] = [];
  for (const [i, mode] of (['http-proxy', 'node-agent', 'portside'] as const).entries()) {
    engines.push([mode, await start(mode, base + 1 + i, base), base + 1 + i]);
  }
  const results = new Map<Mode, { usPerRequest: number[]; rps: number[] }>();
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [mode, proc, port] of engines) {
        const before = await cpuMicros(proc);
        const run = await autocannon({ url: `http://127.0.0.1:${port}/`, connections: 50, amount: requests });
        const used = (await cpuMicros(proc)) - before;
        if (run.errors > 0 || run.non2xx > 0)
          throw new Error(`${mode}: ${run.errors} errors, ${run.non2xx} non-2xx`);
        const entry = results.get(mode) ?? { usPerRequest: [], rps: [] };
        entry.usPerRequest.push(used / requests);
        entry.rps.push(run.requests.average);
        results.set(mode, entry);
      }
    }
  } finally {
    for (const [, proc] of engines) proc.kill();
    upstream.kill();
  }
  const best = (xs: number[]) => Math.min(...xs);
  const reference = best(results.get('http-proxy')!.usPerRequest);
  console.log(`| engine | CPU µs/request (best of ${rounds}) | vs http-proxy | req/s (best) |`);
  console.log('| --- | --- | --- | --- |');
  for (const [mode, r] of results) {
    const us = best(r.usPerRequest);
    console.log(
      `| ${mode} | ${us.toFixed(1)} | ${(reference / us).toFixed(2)}× | ${Math.round(Math.max(...r.rps))} |`,
    );
  }
}

if (process.argv[2] === 'child') {
  await child(process.argv[3] as Mode, Number(process.argv[4]), Number(process.argv[5]));
} else {
  await main();
}
