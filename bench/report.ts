/**
 * Writes the results: raw JSON in results/, and the generated part of RESULTS.md (between
 * markers, so the hand-written findings around it survive a re-run).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, release } from 'node:os';
import { basename, join } from 'node:path';
import { subjectTable, variantsTable } from './comparisons.js';
import type { Sample } from './measure.js';
import type { NodeBinary } from './node-versions.js';
import type { BenchOptions } from './options.js';
import { commandExists, commandVersion, type Pinning } from './processes.js';
import { SCENARIOS } from './scenarios.js';
import type { Spread } from './stats.js';
import { type Check, checkTargets, type Row, summarise } from './summary.js';

export interface Machine {
  date: string;
  cpuModel: string;
  cores: number;
  kernel: string;
  node: string;
  nginx?: string;
  haproxy?: string;
  wrk?: string;
  autocannon?: string;
  /** Node's bundled OpenSSL and the system's (nginx's and HAProxy's). */
  openssl?: string;
  portside?: string;
  /** The other Nodes Portside ran on (`--node`), as "@node26 v26.12.1". */
  otherNodes?: string[];
  /** The Node of the workers targets, or why there is none (when a workers scenario ran). */
  workersNode?: string;
  pinning: Pinning;
  loadAverageAtStart: number[];
}

export function machineInfo(
  pinning: Pinning,
  others: NodeBinary[] = [],
  workers?: NodeBinary | string,
): Machine {
  const version = (command: string, args: string[]) =>
    commandExists(command) ? commandVersion(command, args) : undefined;
  let portside: string | undefined;
  try {
    portside = execFileSync('git', ['describe', '--always', '--dirty'], {
      encoding: 'utf8',
      stdio: 'pipe',
    }).trim();
  } catch {}
  return {
    date: new Date().toISOString(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    kernel: release(),
    node: process.version,
    nginx: version('nginx', ['-v'])?.replace(/^nginx version: nginx\//, 'nginx '),
    haproxy: version('haproxy', ['-v'])?.replace(/^HAProxy version (\S+).*/, 'HAProxy $1'),
    wrk: version('wrk', ['-v'])?.replace(/^wrk (\S+).*/, 'wrk $1'),
    openssl: `Node's OpenSSL ${process.versions.openssl}, system ${version('openssl', ['version']) ?? 'OpenSSL not installed'}`,
    autocannon: (createRequire(import.meta.url)('autocannon/package.json') as { version: string }).version,
    portside,
    otherNodes: others.map((node) => `@node${node.major} ${node.version}`),
    workersNode: typeof workers === 'string' ? workers : workers?.version,
    pinning,
    loadAverageAtStart: loadavg(),
  };
}

/** RSS of a target's proxy process right after start, and after sitting idle (`--settle`). */
export interface TargetMemory {
  name: string;
  rssFreshBytes: number | undefined;
  /** Absent in results written before the settled figure existed. */
  rssSettledBytes?: number | undefined;
}

export interface Report {
  out: string;
  machine: Machine & { upstream: string; tools: string[] };
  options: BenchOptions;
  targets: TargetMemory[];
  skipped: Record<string, string>;
  samples: Sample[];
  /** Earlier runs whose scenarios are included (see `--merge`). */
  merged?: { file: string; date: string; loadAverageAtStart: number[]; runs: string; scenarios: string[] }[];
}

/** Adds the scenarios of an earlier run's JSON that `current` did not measure. */
export function mergeReports(current: Report, file: string): Report {
  const earlier = JSON.parse(readFileSync(file, 'utf8')) as Report;
  const measured = new Set(current.samples.map((s) => s.scenario));
  const samples = earlier.samples.filter((s) => !measured.has(s.scenario));
  const known = new Set(current.targets.map((t) => t.name));
  const targets = [...current.targets, ...earlier.targets.filter((t) => !known.has(t.name))];
  const skipped = Object.entries({ ...earlier.skipped, ...current.skipped }).filter(
    ([name]) => !targets.some((t) => t.name === name),
  );
  return {
    ...current,
    samples: [...current.samples, ...samples],
    targets,
    skipped: Object.fromEntries(skipped),
    merged: [
      ...(current.merged ?? []),
      {
        file: basename(file),
        date: earlier.machine.date,
        loadAverageAtStart: earlier.machine.loadAverageAtStart,
        runs: `${earlier.options.runs} run(s) of ${earlier.options.durationSec} s`,
        scenarios: [...new Set(samples.map((s) => s.scenario))],
      },
    ],
  };
}

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';
const MB = 1024 * 1024;

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const fixed = (digits: number) => (n: number) => n.toFixed(digits);
function cell(s: Spread | undefined, format: (n: number) => string, scale = 1): string {
  if (!s) return '–';
  const main = format(s.median / scale);
  return s.n > 1 ? `${main} (${format(s.min / scale)}–${format(s.max / scale)})` : main;
}

/**
 * New-connection TLS rows add the share of handshakes that resumed a session; logging targets
 * the bytes they logged per request; `withMax` (1,000 connections) the slowest request.
 */
function httpTable(rows: Row[], direct: (tool: string) => Row | undefined, withMax: boolean): string[] {
  const resumption = rows.some((r) => r.resumedShare);
  const logged = rows.some((r) => r.logBytesPerRequest);
  const extra = [withMax && 'max ms', resumption && 'resumed %', logged && 'log bytes/req'].filter(
    (title): title is string => typeof title === 'string',
  );
  const lines = [
    `| target | tool | req/s median (min–max) | p50 ms | p99 ms | added p50 / p99 ms | proxy CPU µs/req | errors | peak RSS MB |${extra.map((title) => ` ${title} |`).join('')}`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- |${extra.map(() => ' --- |').join('')}`,
  ];
  for (const r of rows) {
    const base = direct(r.tool);
    const added =
      r.target === 'direct' || !base?.p50Ms || !r.p50Ms || !r.p99Ms || !base.p99Ms
        ? '–'
        : `${(r.p50Ms.median - base.p50Ms.median).toFixed(2)} / ${(r.p99Ms.median - base.p99Ms.median).toFixed(2)}`;
    const errors = r.errors + (r.failedRuns ? ` (${r.failedRuns} runs failed)` : '');
    const cells = [
      withMax && cell(r.maxMs, fixed(1)),
      resumption && cell(r.resumedShare, fixed(0), 0.01),
      logged && cell(r.logBytesPerRequest, fixed(0)),
    ].filter((text): text is string => typeof text === 'string');
    lines.push(
      `| ${r.target} | ${r.tool} | ${cell(r.reqPerSec, int)} | ${cell(r.p50Ms, fixed(2))} | ${cell(r.p99Ms, fixed(2))} | ${added} | ${cell(r.cpuUsPerRequest, fixed(1))} | ${errors} | ${cell(r.rssPeakBytes, fixed(0), MB)} |${cells.map((text) => ` ${text} |`).join('')}`,
    );
  }
  return lines;
}

function bulkTable(rows: Row[]): string[] {
  const lines = [
    '| target | MB/s median (min–max) | proxy CPU ms/MB | peak RSS MB |',
    '| --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const cpu = cell(r.cpuMsPerMb, fixed(2));
    lines.push(`| ${r.target} | ${cell(r.mbPerSec, int)} | ${cpu} | ${cell(r.rssPeakBytes, fixed(0), MB)} |`);
  }
  return lines;
}

function memoryTable(rows: Row[], idle: Record<string, TargetMemory>, o: BenchOptions): string[] {
  const lines = [
    `| target | RSS fresh MB | RSS idle ${o.settleSec} s after start MB | RSS idle at run start MB | RSS under 50-conn load MB | of which private MB | per open connection KiB (${o.hold} held) |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  const mb = (bytes: number | undefined) => (bytes ? (bytes / MB).toFixed(1) : '–');
  for (const r of rows) {
    const memory = idle[r.target];
    lines.push(
      `| ${r.target} | ${mb(memory?.rssFreshBytes)} | ${mb(memory?.rssSettledBytes)} | ${cell(r.rssIdleBytes, fixed(1), MB)} | ${cell(r.rssUnderLoadBytes, fixed(1), MB)} | ${cell(r.privateUnderLoadBytes, fixed(1), MB)} | ${cell(r.perConnectionBytes, fixed(1), 1024)} |`,
    );
  }
  lines.push(
    '',
    'Each memory run starts a fresh proxy process. "Fresh" is read right after start and one request;',
    `"${o.settleSec} s after start" on a fresh process left idle that long. The per-connection figure is`,
    'the second of two rounds of held connections (the first pays one-time growth). "Private" is',
    'RssAnon (heaps, stacks, buffers);',
    'the rest of RSS is clean pages of the executable and its libraries, shared with every other',
    'process that runs them (for Node, about 40 MB of the `node` binary).',
  );
  return lines;
}

function checksTable(checks: Check[]): string[] {
  const lines = ['| target | tool | measured | floor | |', '| --- | --- | --- | --- | --- |'];
  for (const c of checks) {
    const measured =
      c.measured === undefined
        ? 'not measured'
        : `${c.measured.toFixed(2)}${c.unit === 'x' ? '×' : ` ${c.unit}`}`;
    const status = c.note ?? (c.pass === undefined ? '–' : c.pass ? 'pass' : '**FAIL**');
    lines.push(`| ${c.what} | ${c.tool} | ${measured} | ${c.floor} | ${status} |`);
  }
  return lines;
}

export function renderMarkdown(report: Report): string {
  const { machine: m, options: o } = report;
  const rows = summarise(report.samples);
  const idle = Object.fromEntries(report.targets.map((t) => [t.name, t]));
  const out = [
    `Generated by \`npm run bench\` on ${m.date}.`,
    '',
    `- Machine: ${m.cpuModel}, ${m.cores} cores, Linux ${m.kernel}; load average at start ${m.loadAverageAtStart.map((n) => n.toFixed(2)).join(' ')}`,
    `- Pinning: ${m.pinning.proxy === undefined ? 'none (no taskset or < 2 CPUs)' : `proxy on CPU ${m.pinning.proxy}, load generator + upstreams on CPU ${m.pinning.load}`}`,
    `- Versions: Node ${m.node}${m.otherNodes?.length ? ` (Portside also on ${m.otherNodes.join(', ')})` : ''}${m.workersNode ? `; workers targets on Node ${m.workersNode}` : ''}; ${m.nginx ?? 'nginx not installed'}; ${m.haproxy ?? 'HAProxy not installed'}; ${m.wrk ?? 'wrk not installed'}; autocannon ${m.autocannon}; ${m.openssl ?? 'OpenSSL ?'}; Portside ${m.portside ?? '?'}`,
    `- Upstream: ${m.upstream}; load: ${m.tools.join(' + ')}; ${o.runs} interleaved run(s) of ${o.durationSec} s per configuration after ${o.warmupSec} s warm-up`,
  ];
  for (const earlier of report.merged ?? []) {
    const load = earlier.loadAverageAtStart.map((n) => n.toFixed(2)).join(' ');
    out.push(
      `- From an earlier run (${earlier.date}, load average ${load}, ${earlier.runs}, ${earlier.file}): ${earlier.scenarios.join(', ')}`,
    );
  }
  for (const [name, reason] of Object.entries(report.skipped)) {
    out.push(`- Not measured: ${name} (${reason})`);
  }
  for (const scenario of SCENARIOS) {
    const group = rows.filter((r) => r.scenario === scenario.name);
    if (group.length === 0) continue;
    out.push('', `### ${scenario.title} (\`${scenario.name}\`)`, '');
    if (scenario.kind === 'bulk') out.push(...bulkTable(group));
    else if (scenario.kind === 'memory') out.push(...memoryTable(group, idle, o));
    else {
      const direct = (tool: string) => group.find((r) => r.target === 'direct' && r.tool === tool);
      out.push(...httpTable(group, direct, scenario.load.connections >= 1000));
      if (scenario.kind === 'http' && scenario.subject) out.push(...subjectTable(group, scenario.subject));
    }
  }
  out.push(...variantsTable(rows));
  out.push('', '### Targets from issue #8, #16, #17 and #19', '', ...checksTable(checkTargets(rows, idle)));
  return out.join('\n');
}

export function writeReport(report: Report): { markdown: string; json: string } {
  mkdirSync(join(report.out, 'results'), { recursive: true });
  const json = join(report.out, 'results', `${report.machine.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  const markdown = join(report.out, 'RESULTS.md');
  const generated = `${START}\n${renderMarkdown(report)}\n${END}`;
  const previous = existsSync(markdown) ? readFileSync(markdown, 'utf8') : '';
  const start = previous.indexOf(START);
  const end = previous.indexOf(END);
  const text =
    start >= 0 && end > start
      ? previous.slice(0, start) + generated + previous.slice(end + END.length)
      : `# Benchmark results\n\n${generated}\n\n## Findings\n\n(Write what the figures mean and what was tried here; re-runs keep this section.)\n`;
  writeFileSync(markdown, text);
  return { markdown, json };
}
