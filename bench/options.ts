/** Command-line options of `npm run bench`. */
import { parseArgs } from 'node:util';
import type { LoadTool } from './load.js';

export interface BenchOptions {
  durationSec: number;
  warmupSec: number;
  runs: number;
  /** Overrides the connection count of every scenario that uses more than one. */
  connections: number | undefined;
  hold: number;
  /** Seconds a fresh proxy sits idle before its settled RSS is read (memory scenario). */
  settleSec: number;
  only: string[] | undefined;
  targets: string[] | undefined;
  tools: LoadTool[] | undefined;
  upstream: 'auto' | 'nginx' | 'node';
  out: string | undefined;
  pin: boolean;
  /** Directory for Portside's `--cpu-prof` profiles, or undefined. */
  profile: string | undefined;
  /** Another checkout (built) whose Portside runs beside this one as `portside-l4@base`, `portside-l7@base`. */
  compare: string | undefined;
  /** An earlier run's raw JSON whose scenarios not run this time are reported alongside. */
  merge: string | undefined;
  /** Other Node binaries (paths or major versions) every Portside target also runs on. */
  nodes: string[];
  /** Worker counts of the `*-workers` scenarios (the `workers` config key). */
  workers: number[];
  /** The Node binary (path or major version) of the `*-workers` scenarios. */
  workersNode: string;
}

export const USAGE = `npm run bench -- [options]
  --quick             1 s runs, 0.5 s warm-up, 1 run, autocannon only (a smoke check, not figures)
  --duration SEC      seconds per measured run (default 5)
  --warmup SEC        seconds of unrecorded load per target before its first run (default 2)
  --runs N            interleaved runs per configuration (default 3)
  --connections N     connections for every scenario that uses more than one
  --hold N            idle connections opened for the memory-per-connection figure (default 1000)
  --settle SEC        idle seconds after a fresh start before the settled RSS is read (default 20)
  --only a,b          scenarios whose name starts with a or b (e.g. l7-small, l4, tls, l7-default, memory)
  --targets a,b       only these targets (direct, portside-l4, portside-l7, nginx, nginx-stream,
                      haproxy, haproxy-tcp, http-proxy, http-proxy-ka, undici-floor; for the
                      h2 scenarios: portside-h2, nginx-h2, haproxy-h2, h2-floor; for the
                      tls scenarios: portside-tls, nginx-tls, haproxy-tls; for the *-default
                      ones: portside-l7-default, portside-l4-default, nginx-log, haproxy-log,
                      nginx-stream-log, haproxy-tcp-log; for the *-workers ones: portside-l7-wN,
                      portside-l4-wN; a name takes its @base / @nodeN variants too)
  --tools a,b         load generators: autocannon, wrk (default: both when wrk is installed)
  --upstream KIND     auto (nginx when installed), nginx or node
  --out DIR           where RESULTS.md and results/*.json go (default: bench/ of the repo)
  --no-pin            do not pin processes to CPUs with taskset
  --profile [DIR]     run Portside with --cpu-prof; profiles go to DIR (default bench/profiles);
                      summarise with: node dist/bench/profile-summary.js FILE.cpuprofile
  --compare DIR       also run the Portside built in checkout DIR, as portside-l4@base / portside-l7@base
  --merge FILE        report, beside this run, the scenarios of an earlier run's results/*.json
                      that this run did not measure (each scenario still comes from one run)
  --node a,b          also run every Portside target on these Node binaries: a path, or a major
                      version found in .cache/node/MAJOR of this or the main checkout (e.g. 26);
                      they are named portside-l7@node26 and so on
  --workers a,b       worker counts of the l7-workers and l4-workers scenarios (default 1,2)
  --workers-node N    the Node of the *-workers scenarios, a path or major version (default 26)`;

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`--${name} expects a non-negative number, got "${text}"`);
  return value;
}

const list = (text: string | undefined) =>
  text
    ?.split(',')
    .map((item) => item.trim())
    .filter(Boolean);

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  // `--profile` may come without a directory: give it the empty string, resolved later to the default.
  const args = argv.flatMap((arg, i) =>
    arg === '--profile' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--')) ? [arg, ''] : [arg],
  );
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      runs: { type: 'string' },
      connections: { type: 'string' },
      hold: { type: 'string' },
      settle: { type: 'string' },
      only: { type: 'string' },
      targets: { type: 'string' },
      tools: { type: 'string' },
      upstream: { type: 'string' },
      out: { type: 'string' },
      'no-pin': { type: 'boolean' },
      profile: { type: 'string' },
      compare: { type: 'string' },
      merge: { type: 'string' },
      node: { type: 'string' },
      workers: { type: 'string' },
      'workers-node': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick ?? false;
  const tools = list(values.tools) ?? (quick ? ['autocannon'] : undefined);
  for (const tool of tools ?? []) {
    if (tool !== 'autocannon' && tool !== 'wrk')
      throw new Error(`--tools: unknown tool "${tool}" (autocannon, wrk)`);
  }
  const upstream = values.upstream ?? 'auto';
  if (upstream !== 'auto' && upstream !== 'nginx' && upstream !== 'node') {
    throw new Error(`--upstream expects auto, nginx or node, got "${upstream}"`);
  }
  const runs = Math.round(positive('runs', values.runs, quick ? 1 : 3));
  if (runs < 1) throw new Error('--runs must be at least 1');
  const connections =
    values.connections === undefined ? undefined : positive('connections', values.connections, 1);
  return {
    durationSec: positive('duration', values.duration, quick ? 1 : 5),
    warmupSec: positive('warmup', values.warmup, quick ? 0.5 : 2),
    runs,
    connections: connections === undefined ? undefined : Math.max(1, Math.round(connections)),
    hold: Math.round(positive('hold', values.hold, quick ? 200 : 1000)),
    settleSec: positive('settle', values.settle, quick ? 2 : 20),
    only: list(values.only),
    targets: list(values.targets),
    tools: tools as LoadTool[] | undefined,
    upstream,
    out: values.out,
    pin: !values['no-pin'],
    profile: values.profile,
    compare: values.compare,
    merge: values.merge,
    nodes: list(values.node) ?? [],
    workers: (list(values.workers) ?? ['1', '2']).map((text) => {
      const count = Number(text);
      if (!Number.isInteger(count) || count < 1)
        throw new Error(`--workers expects counts ≥ 1, got "${text}"`);
      return count;
    }),
    workersNode: values['workers-node'] ?? '26',
  };
}
