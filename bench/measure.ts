/** One measured run: a scenario against a target with one load tool, plus the proxy's RSS. */

import { runH2load } from './h2load.js';
import { logSize, type Target } from './launch.js';
import { holdConnections, type LoadTool, runBulk, runHttp } from './load.js';
import type { BulkResult, HttpJob, HttpResult } from './load-types.js';
import { cpuSeconds, type Pinning, type Resident, residentBytes, rssBytes } from './processes.js';
import type { HttpLoad, Scenario } from './scenarios.js';

export interface MemorySample {
  /** Before this run: a fresh process that has answered one request (the bench restarts it). */
  rssIdleBytes: number;
  /** Peak during the load. */
  rssUnderLoadBytes: number;
  /** Peak of the private part (RssAnon) during the load. */
  privateUnderLoadBytes: number;
  /** Connections actually held open for the per-connection figure. */
  held: number;
  heldFailed: number;
  perConnectionBytes: number;
}

/** `node`: the worker's own loops; `h2load`: the HTTP/2 scenarios. */
export type SampleTool = LoadTool | 'node' | 'h2load';

export interface Sample {
  scenario: string;
  target: string;
  tool: SampleTool;
  run: number;
  http?: HttpResult;
  bulk?: BulkResult;
  memory?: MemorySample;
  /** Peak RSS of the proxy process during the run. */
  rssMaxBytes?: number;
  /** CPU seconds (user + system) the proxy process used during the run. */
  cpuSeconds?: number;
  /** Bytes the proxy logged during the run (the logging targets). */
  logBytes?: number;
  error?: string;
}

export interface MeasureContext {
  pinning: Pinning;
  dir: string;
  durationSec: number;
  connections: number | undefined;
  hold: number;
}

/** Polls the proxy's memory every 100 ms; the returned function stops and gives the peaks. */
function watchMemory(pid: number | undefined): () => Resident | undefined {
  if (pid === undefined) return () => undefined;
  const peak = residentBytes(pid);
  const sample = () => {
    const now = residentBytes(pid);
    peak.rss = Math.max(peak.rss, now.rss);
    peak.anon = Math.max(peak.anon, now.anon);
  };
  const timer = setInterval(sample, 100);
  return () => {
    clearInterval(timer);
    sample();
    return peak;
  };
}

function httpJob(load: HttpLoad, port: number, context: MeasureContext, durationSec: number): HttpJob {
  const connections = load.connections > 1 && context.connections ? context.connections : load.connections;
  return { kind: 'http', port, durationSec, ...load, connections };
}

export async function measure(
  scenario: Scenario,
  target: Target,
  tool: SampleTool,
  run: number,
  context: MeasureContext,
  durationSec = context.durationSec,
): Promise<Sample> {
  const sample: Sample = { scenario: scenario.name, target: target.name, tool, run };
  const first = target.process?.child.pid;
  const rssBefore = first === undefined ? 0 : rssBytes(first);
  // Held connections first, while the process is quiet: after a load run its RSS moves with
  // garbage collection by more than 1,000 idle connections cost. Then a fresh process again,
  // so that the peak under load does not carry the garbage of the held connections.
  let held: Awaited<ReturnType<typeof measureHeld>> | undefined;
  if (scenario.kind === 'memory' && first !== undefined) {
    held = await measureHeld(first, target.httpPort, context);
    await target.restart?.();
  }
  const logBefore = logSize(target);
  const pid = target.process?.child.pid;
  const cpuBefore = pid === undefined ? 0 : cpuSeconds(pid);
  const stopWatching = watchMemory(pid);
  try {
    if (scenario.kind === 'bulk') {
      sample.bulk = await runBulk(target.bulkPort!, durationSec, context.pinning);
    } else if (scenario.kind === 'h2') {
      const port = target.h2Port ?? target.httpPort;
      sample.http = await runH2load({ ...scenario.load, port, durationSec }, context.pinning, context.dir);
    } else {
      const job = httpJob(scenario.load, target.httpPort, context, durationSec);
      sample.http = await runHttp(tool === 'wrk' ? 'wrk' : 'autocannon', job, context.pinning, context.dir);
    }
  } catch (error) {
    sample.error = (error as Error).message;
  }
  // A proxy that died leaves the load tool failing to connect: say first that it died, and why.
  const child = target.process?.child;
  if (child && child.exitCode !== null) {
    const load = sample.error ? `\n(the load tool: ${sample.error})` : '';
    sample.error = `${target.name} exited (${child.exitCode}):\n${target.process!.output()}${load}`;
  }
  const peak = stopWatching();
  sample.rssMaxBytes = peak?.rss;
  if (pid !== undefined) sample.cpuSeconds = cpuSeconds(pid) - cpuBefore;
  // What it logged during the run: shows that logging happened, and how much per request.
  if (target.logFile) sample.logBytes = logSize(target) - logBefore;
  if (held && peak && !sample.error) {
    sample.memory = {
      rssIdleBytes: rssBefore,
      rssUnderLoadBytes: peak.rss,
      privateUnderLoadBytes: peak.anon,
      ...held,
    };
  }
  return sample;
}

/**
 * What one more open connection costs. The first round of connections on a fresh process
 * also pays one-time costs (the heap growing, the accept path compiled), so it only warms
 * up; the figure comes from a second round.
 */
async function measureHeld(
  pid: number,
  port: number,
  context: MeasureContext,
): Promise<Pick<MemorySample, 'held' | 'heldFailed' | 'perConnectionBytes'>> {
  await (await holdConnections(port, context.hold, context.pinning)).release();
  const before = rssBytes(pid);
  const held = await holdConnections(port, context.hold, context.pinning);
  const after = rssBytes(pid);
  await held.release();
  return {
    held: held.open,
    heldFailed: held.failed,
    perConnectionBytes: held.open > 0 ? (after - before) / held.open : Number.NaN,
  };
}

/**
 * Restarts each target, lets them all sit idle for `seconds`, then records each one's RSS:
 * what an idle proxy holds once the runtime has trimmed what start-up left. For Node, V8's
 * memory reducer runs a compacting collection about 8 s after start and shrinks the young
 * generation that start-up grew (`--trace-gc`: "Mark-Compact (reduce)").
 */
export async function measureSettledIdle(targets: Target[], seconds: number): Promise<void> {
  for (const target of targets) await target.restart?.();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  for (const target of targets) {
    const pid = target.process?.child.pid;
    if (pid !== undefined) target.rssSettled = rssBytes(pid);
  }
}
