/**
 * `npm run bench`: starts the upstreams and every available target, runs each scenario
 * against them (warm-up, then interleaved runs), shows a progress line, and writes
 * bench/RESULTS.md and bench/results/<time>.json. See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Layer, Target, TargetContext, TargetSpec } from './launch.js';
import type { LoadTool } from './load.js';
import { type MeasureContext, measure, measureSettledIdle, type Sample, type SampleTool } from './measure.js';
import { findNode, type NodeBinary } from './node-versions.js';
import { type BenchOptions, parseOptions, USAGE } from './options.js';
import { portsideTargets, workersTargets } from './portside-targets.js';
import { choosePinning, commandExists, stopAll } from './processes.js';
import { Progress } from './progress.js';
import { machineInfo, mergeReports, writeReport } from './report.js';
import { type Scenario, selectScenarios } from './scenarios.js';
import { TARGETS } from './targets.js';
import { makeCertificate } from './tls-certificate.js';
import { startUpstreams } from './upstreams.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (package.json)');
    dir = parent;
  }
  return dir;
}

function targetsFor(scenario: Scenario, targets: Target[]): Target[] {
  // Memory is the HTTP/1.1 and TCP proxies' figure, in plain text; the h2 and tls targets are
  // the same programs (and the memory load speaks neither).
  if (scenario.kind === 'memory') {
    return targets.filter((t) => t.process && t.layers.some((layer) => layer === 'l4' || layer === 'l7'));
  }
  return targets.filter((t) => t.layers.includes(scenario.layer));
}

function toolsFor(scenario: Scenario, tools: LoadTool[]): SampleTool[] {
  if (scenario.kind === 'bulk') return ['node'];
  if (scenario.kind === 'h2') return ['h2load'];
  if (scenario.kind === 'memory') return ['autocannon'];
  // New TLS connections: the worker's loop, which can offer a session. Keep-alive over TLS: wrk
  // (C, so the load core's cost is mostly its own TLS); autocannon is left out, it would need
  // the certificate's trust set up and adds nothing wrk does not measure.
  if (scenario.load.tls) return scenario.load.newConnection ? ['node'] : ['wrk'];
  // autocannon cannot open a connection per request; the worker's own loop ("node") does.
  if (scenario.load.newConnection) return tools.map((tool) => (tool === 'autocannon' ? 'node' : tool));
  // A fixed rate: the worker's own paced loop (wrk cannot pace; that is wrk2, not packaged here).
  if (scenario.load.ratePerSec) return ['node'];
  return tools;
}

/** A tls scenario needs openssl (for the certificate), and wrk when it keeps connections open. */
function tlsRunnable(scenario: Scenario, skipped: Record<string, string>): boolean {
  if (scenario.kind !== 'http' || !scenario.load.tls) return true;
  const missing = !commandExists('openssl')
    ? 'openssl is not installed (it makes the certificate)'
    : !scenario.load.newConnection && !commandExists('wrk')
      ? 'wrk is not installed'
      : undefined;
  if (missing) skipped[scenario.name] = missing;
  return missing === undefined;
}

/** The layers the selected scenarios load: only targets of these layers are started. */
function layersOf(scenarios: Scenario[]): Set<Layer> {
  return new Set(scenarios.flatMap((s): Layer[] => (s.kind === 'memory' ? ['l4', 'l7'] : [s.layer])));
}

/**
 * Every target this run may start: the usual ones, Portside built in `--compare DIR`
 * (`@base`), Portside on each `--node` (`@node26`), and the workers targets. A `--node` that
 * cannot be found, or that is the bench's own Node, adds nothing (the first says why).
 */
function targetSpecs(options: BenchOptions, nodes: Nodes): TargetSpec[] {
  const specs = [...TARGETS];
  if (options.compare) specs.push(...portsideTargets({ root: resolve(options.compare), suffix: '@base' }));
  for (const node of nodes.others) specs.push(...portsideTargets({ suffix: `@node${node.major}`, node }));
  specs.push(...workersTargets(nodes.workers, options.workers));
  return specs;
}

/** The Nodes of `--node` and `--workers-node` (a reason instead when the latter is not found). */
interface Nodes {
  others: NodeBinary[];
  workers: NodeBinary | string;
}

function otherNodes(options: BenchOptions, root: string, skipped: Record<string, string>): NodeBinary[] {
  const found: NodeBinary[] = [];
  for (const spec of options.nodes) {
    const node = findNode(spec, root);
    if (typeof node === 'string') skipped[`--node ${spec}`] = node;
    else if (node.version !== process.version && !found.some((n) => n.major === node.major)) found.push(node);
  }
  return found;
}

async function startTargets(
  options: BenchOptions,
  nodes: Nodes,
  context: TargetContext,
  layers: Set<Layer>,
  skipped: Record<string, string>,
) {
  const started: Target[] = [];
  for (const spec of targetSpecs(options, nodes)) {
    // `--targets portside-l7` takes its variants too (`portside-l7@base`, `portside-l7@node26`).
    if (
      options.targets &&
      !options.targets.some((name) => spec.name === name || spec.name.startsWith(`${name}@`))
    ) {
      continue;
    }
    if (!spec.layers.some((layer) => layers.has(layer))) continue;
    const reason = spec.unavailable(context);
    if (reason) {
      skipped[spec.name] = reason;
      continue;
    }
    try {
      started.push(await spec.start(context));
    } catch (error) {
      skipped[spec.name] = `failed to start: ${(error as Error).message.split('\n').slice(0, 6).join(' | ')}`;
    }
  }
  return started;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  const root = repoRoot();
  const pinning = choosePinning(options.pin);
  // The orchestrator only waits and samples RSS, but it should not steal the proxy's core either.
  if (pinning.load) execFileSync('taskset', ['-pc', pinning.load, String(process.pid)], { stdio: 'ignore' });
  const tools = options.tools ?? (commandExists('wrk') ? ['autocannon', 'wrk'] : ['autocannon']);
  const skipped: Record<string, string> = {};
  const hasH2load = commandExists('h2load');
  if (!hasH2load) skipped['h2 scenarios'] = 'h2load is not installed (Debian nghttp2-client)';
  const scenarios = selectScenarios(options.only).filter(
    (s) => (s.kind !== 'h2' || hasH2load) && tlsRunnable(s, skipped),
  );
  if (scenarios.length === 0) throw new Error(`--only ${options.only?.join(',')} matches no scenario`);
  const dir = mkdtempSync(join(tmpdir(), 'portside-bench-'));
  const nodes: Nodes = {
    others: otherNodes(options, root, skipped),
    workers: findNode(options.workersNode, root),
  };
  const layers = layersOf(scenarios);
  const withWorkers = layers.has('l7-workers') || layers.has('l4-workers');
  const machine = machineInfo(pinning, nodes.others, withWorkers ? nodes.workers : undefined);
  const samples: Sample[] = [];
  try {
    const upstreams = await startUpstreams(dir, pinning, options.upstream, layers.has('h2'));
    const profileDir =
      options.profile === undefined ? undefined : resolve(options.profile || join(root, 'bench', 'profiles'));
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    const tls = layers.has('tls') ? makeCertificate(dir) : undefined;
    const targets = await startTargets(
      options,
      nodes,
      { dir, repoRoot: root, pinning, upstreams, profileDir, tls },
      layers,
      skipped,
    );
    for (const [name, reason] of Object.entries(skipped)) console.error(`skipping ${name}: ${reason}`);
    const context: MeasureContext = { pinning, dir, ...options };
    const plan = scenarios.map((s) => ({
      scenario: s,
      targets: targetsFor(s, targets),
      tools: toolsFor(s, tools),
    }));
    const progress = new Progress(
      plan.reduce((sum, p) => sum + p.targets.length * p.tools.length * options.runs, 0),
    );
    for (const { scenario, targets: group, tools: groupTools } of plan) {
      if (scenario.kind === 'memory') {
        progress.note(`${scenario.name} · every target idle for ${options.settleSec} s after a fresh start`);
        await measureSettledIdle(group, options.settleSec);
      }
      if (options.warmupSec > 0 && scenario.kind !== 'memory') {
        for (const target of group) {
          progress.note(`${scenario.name} · ${target.name} · warm-up`);
          await measure(scenario, target, groupTools[0]!, 0, context, options.warmupSec);
        }
      }
      // Interleaved: every target gets its run 1 before any gets its run 2, so drift hits all alike.
      for (let run = 1; run <= options.runs; run++) {
        for (const target of group) {
          for (const tool of groupTools) {
            // Memory is measured on a fresh process, as a user who starts Portside and loads it
            // would see it, not after the churn of the scenarios that ran before.
            if (scenario.kind === 'memory') await target.restart?.();
            progress.start(`${scenario.name} · ${target.name} · ${tool} · run ${run}/${options.runs}`);
            const sample = await measure(scenario, target, tool, run, context);
            samples.push(sample);
            progress.done(sample);
          }
        }
      }
    }
    progress.finish();
    // Stop the proxies before reporting so that --cpu-prof profiles are written.
    await stopAll();
    if (profileDir) console.error(`Portside CPU profiles in ${profileDir}`);
    const report = {
      out: options.out ?? join(root, 'bench'),
      machine: { ...machine, upstream: upstreams.kind, tools },
      options,
      targets: targets.map((t) => ({
        name: t.name,
        rssFreshBytes: t.rssFresh,
        rssSettledBytes: t.rssSettled,
      })),
      skipped,
      samples,
    };
    const written = writeReport(options.merge ? mergeReports(report, options.merge) : report);
    console.error(`wrote ${written.markdown} and ${written.json}`);
    return samples.some((s) => s.error) ? 1 : 0;
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopAll().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  async (error) => {
    console.error(`bench failed: ${(error as Error).message}`);
    await stopAll();
    process.exit(2);
  },
);
