/**
 * DNS over UDP: queries per second through Portside's `protocol: udp` listener, against
 * nginx `stream` UDP when its module is installed, and against dnsmasq directly, in the same
 * run, interleaved. dnsmasq answers from a hosts file, so it is never the slow side.
 *
 *   npm run build && node dist/bench/udp-dns.js [--duration 5] [--runs 3] [--clients 64] [--in-flight 4] [--profile DIR]
 *
 * Two loads, each from this process (on the load CPUs with dnsmasq; the proxy alone on CPU 0):
 * - `sessions`: `clients` sockets, each a long-lived session keeping `in-flight` queries
 *   outstanding (a resolver library or a StatsD client): the cost per datagram.
 * - `new-session`: `clients` loops, each query from a new socket, so a new session each (dig,
 *   stub resolvers with random source ports): the cost of opening and ending a session.
 *
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 */
import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dnsQuery, parseAnswer } from '../test/helpers/dns-client.js';
import { nodeFlagsOf } from './node-flags.js';
import { NGINX_STREAM_MODULE } from './peer-configs.js';
import {
  choosePinning,
  commandExists,
  cpuSeconds,
  rssBytes,
  type Started,
  startProcess,
  stopAll,
} from './processes.js';

const NAME = 'who.internal';
const LOST_AFTER_MS = 1000;

interface Target {
  name: string;
  port: number;
  process?: Started;
}

interface Result {
  target: string;
  load: string;
  qps: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time of the proxy per 1,000 queries (ms); undefined for direct. */
  cpuMsPerK?: number;
  rssMiB?: number;
}

function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  return new Promise((resolve) =>
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    }),
  );
}

function bound(): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.on('error', () => {});
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
}

/** Asks until answered (the target is up), for at most 10 s. */
async function waitAnswers(target: Target): Promise<void> {
  const socket = await bound();
  try {
    for (let i = 0; i < 100; i++) {
      const answered = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 100);
        socket.once('message', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      socket.send(dnsQuery(i, NAME), target.port, '127.0.0.1');
      if (await answered) return;
    }
    throw new Error(`${target.name} does not answer on ${target.port}: ${target.process?.output() ?? ''}`);
  } finally {
    socket.close();
  }
}

class Latencies {
  private readonly samples: number[] = [];
  answered = 0;
  lost = 0;
  add(ms: number): void {
    this.answered++;
    if (this.samples.length < 2_000_000) this.samples.push(ms);
  }
  percentile(p: number): number {
    const sorted = Float64Array.from(this.samples).sort();
    return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
  }
}

/** Long-lived sessions, each keeping `inFlight` queries outstanding. */
async function sessionsLoad(
  port: number,
  clients: number,
  inFlight: number,
  durationMs: number,
): Promise<Latencies> {
  const stats = new Latencies();
  const sockets = await Promise.all(Array.from({ length: clients }, bound));
  let running = true;
  const sweeps: NodeJS.Timeout[] = [];
  for (const socket of sockets) {
    const outstanding = new Map<number, number>();
    let nextId = 0;
    const send = () => {
      const id = nextId++ & 0xffff;
      outstanding.set(id, performance.now());
      socket.send(dnsQuery(id, NAME), port, '127.0.0.1');
    };
    socket.on('message', (message) => {
      const { id } = parseAnswer(message);
      const sentAt = outstanding.get(id);
      if (sentAt === undefined) return;
      outstanding.delete(id);
      stats.add(performance.now() - sentAt);
      if (running) send();
    });
    // A lost query is replaced, so the load keeps its shape.
    sweeps.push(
      setInterval(() => {
        const now = performance.now();
        for (const [id, sentAt] of outstanding) {
          if (now - sentAt < LOST_AFTER_MS) continue;
          outstanding.delete(id);
          stats.lost++;
          if (running) send();
        }
      }, 250),
    );
    for (let i = 0; i < inFlight; i++) send();
  }
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  running = false;
  for (const sweep of sweeps) clearInterval(sweep);
  for (const socket of sockets) socket.close();
  return stats;
}

/** `clients` loops, each query from a fresh socket: a new session per query. */
async function newSessionLoad(port: number, clients: number, durationMs: number): Promise<Latencies> {
  const stats = new Latencies();
  const deadline = performance.now() + durationMs;
  const loop = async () => {
    while (performance.now() < deadline) {
      const socket = await bound();
      const sentAt = performance.now();
      const answered = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), LOST_AFTER_MS);
        socket.once('message', () => {
          clearTimeout(timer);
          resolve(true);
        });
        socket.send(dnsQuery(1, NAME), port, '127.0.0.1');
      });
      if (answered) stats.add(performance.now() - sentAt);
      else stats.lost++;
      socket.close();
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  return stats;
}

async function startDnsmasq(dir: string, cpus: string | undefined): Promise<Target> {
  const port = await freeUdpPort();
  writeFileSync(join(dir, 'hosts'), `10.0.0.1 ${NAME}\n`);
  const conf = join(dir, 'dnsmasq.conf');
  writeFileSync(
    conf,
    [
      `port=${port}`,
      'listen-address=127.0.0.1',
      'bind-interfaces',
      'no-resolv',
      'no-hosts',
      'local=/internal/',
      `addn-hosts=${join(dir, 'hosts')}`,
      'keep-in-foreground',
      'pid-file=',
      'user=root',
      '',
    ].join('\n'),
  );
  const process = startProcess('dnsmasq', 'dnsmasq', [`--conf-file=${conf}`], cpus);
  const target = { name: 'direct', port, process };
  await waitAnswers(target);
  return target;
}

async function startPortside(
  dir: string,
  dnsPort: number,
  cpus: string | undefined,
  profileDir: string | undefined,
): Promise<Target> {
  const port = await freeUdpPort();
  const file = join(dir, 'portside.yaml');
  // idleTimeout 2s: the new-session load opens thousands of sessions a second.
  writeFileSync(
    file,
    `listeners:
  - { name: dns, protocol: udp, address: "127.0.0.1:${port}", cluster: dns, idleTimeout: 2s, maxSessions: 100000 }
clusters:
  - { name: dns, endpoints: ["127.0.0.1:${dnsPort}"] }
drainTimeout: 1s
`,
  );
  // From dist/bench the CLI is ../src/cli; from the sources (tsx) it is the built ../dist/src/cli.
  const cli = [
    join(import.meta.dirname, '..', 'src', 'cli', 'main.js'),
    join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'main.js'),
  ].find(existsSync);
  if (!cli) throw new Error('dist/src/cli/main.js missing: npm run build');
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const args = [...nodeFlagsOf(cli), ...profile, cli, 'run', '-c', file, '--log-level', 'warn'];
  const target = { name: 'portside', port, process: startProcess('portside', process.execPath, args, cpus) };
  await waitAnswers(target);
  return target;
}

async function startNginx(dir: string, dnsPort: number, cpus: string | undefined): Promise<Target> {
  const port = await freeUdpPort();
  const file = join(dir, 'nginx-udp.conf');
  writeFileSync(
    file,
    `load_module ${NGINX_STREAM_MODULE};
${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
worker_processes 1;
worker_rlimit_nofile 100000;
pid ${dir}/nginx-udp.pid;
error_log ${dir}/nginx-udp-error.log warn;
events { worker_connections 50000; }
stream {
  server { listen 127.0.0.1:${port} udp; proxy_pass 127.0.0.1:${dnsPort}; proxy_timeout 2s; }
}
`,
  );
  const target = {
    name: 'nginx-stream',
    port,
    process: startProcess('nginx-stream', 'nginx', ['-p', dir, '-c', file], cpus),
  };
  await waitAnswers(target);
  return target;
}

function nginxUnavailable(): string | undefined {
  if (!commandExists('nginx')) return 'nginx is not installed';
  if (!existsSync(NGINX_STREAM_MODULE))
    return 'the nginx stream module is not installed (libnginx-mod-stream)';
  return undefined;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      runs: { type: 'string', default: '3' },
      clients: { type: 'string', default: '64' },
      'in-flight': { type: 'string', default: '4' },
      /** Run Portside under --cpu-prof, writing its profile to this directory. */
      profile: { type: 'string' },
    },
  });
  const durationMs = Number(values.duration) * 1000;
  const runs = Number(values.runs);
  const clients = Number(values.clients);
  const inFlight = Number(values['in-flight']);
  const pinning = choosePinning(true);
  if (pinning.load) execFileSync('taskset', ['-pc', pinning.load, String(process.pid)], { stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'portside-udp-bench-'));
  try {
    const dns = await startDnsmasq(dir, pinning.load);
    const targets: Target[] = [dns, await startPortside(dir, dns.port, pinning.proxy, values.profile)];
    const skipped = nginxUnavailable();
    if (skipped) console.log(`nginx-stream skipped: ${skipped}`);
    else targets.push(await startNginx(dir, dns.port, pinning.proxy));

    const loads = [
      {
        name: `sessions (${clients} × ${inFlight} in flight)`,
        run: (port: number) => sessionsLoad(port, clients, inFlight, durationMs),
      },
      {
        name: `new-session (${clients} loops)`,
        run: (port: number) => newSessionLoad(port, clients, durationMs),
      },
    ];
    const results: Result[] = [];
    for (const load of loads) {
      const perTarget = new Map<string, Result[]>();
      for (let run = 0; run < runs; run++) {
        for (const target of targets) {
          const pid = target === dns ? undefined : target.process?.child.pid;
          const cpuBefore = pid ? cpuSeconds(pid) : 0;
          const stats = await load.run(target.port);
          const cpu = pid ? cpuSeconds(pid) - cpuBefore : 0;
          const result: Result = {
            target: target.name,
            load: load.name,
            qps: stats.answered / (durationMs / 1000),
            lost: stats.lost,
            p50Ms: stats.percentile(50),
            p99Ms: stats.percentile(99),
            ...(pid
              ? { cpuMsPerK: (cpu * 1e6) / Math.max(1, stats.answered), rssMiB: rssBytes(pid) / 2 ** 20 }
              : {}),
          };
          perTarget.set(target.name, [...(perTarget.get(target.name) ?? []), result]);
          console.error(`${load.name} run ${run + 1} ${target.name}: ${Math.round(result.qps)} q/s`);
          // Sessions of the last run idle out before the next one (idleTimeout 2s).
          await new Promise((resolve) => setTimeout(resolve, 2500));
        }
      }
      for (const [target, list] of perTarget) {
        results.push({
          target,
          load: load.name,
          qps: median(list.map((r) => r.qps)),
          lost: list.reduce((n, r) => n + r.lost, 0),
          p50Ms: median(list.map((r) => r.p50Ms)),
          p99Ms: median(list.map((r) => r.p99Ms)),
          cpuMsPerK: list[0]!.cpuMsPerK === undefined ? undefined : median(list.map((r) => r.cpuMsPerK!)),
          rssMiB: list[0]!.rssMiB === undefined ? undefined : Math.max(...list.map((r) => r.rssMiB!)),
        });
      }
    }
    console.log(
      `\n${runs} runs of ${durationMs / 1000} s each, medians; pinning: proxy ${pinning.proxy ?? '-'}, load ${pinning.load ?? '-'}\n`,
    );
    console.log(
      '| load | target | queries/s | p50 ms | p99 ms | proxy CPU ms per 1,000 | proxy RSS MiB | lost |',
    );
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of results) {
      const cells = [
        r.load,
        r.target,
        Math.round(r.qps).toLocaleString('en-US'),
        r.p50Ms.toFixed(2),
        r.p99Ms.toFixed(2),
        r.cpuMsPerK === undefined ? '–' : r.cpuMsPerK.toFixed(1),
        r.rssMiB === undefined ? '–' : r.rssMiB.toFixed(0),
        String(r.lost),
      ];
      console.log(`| ${cells.join(' | ')} |`);
    }
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
