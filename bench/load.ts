/**
 * Runs load against a port from the load CPUs: autocannon (in a child process), wrk (when
 * installed), the L4 bulk reader, and a connection holder for memory per connection.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { BulkResult, HttpJob, HttpResult, LoadJob } from './load-types.js';
import {
  benchScript,
  exited,
  firstLine,
  type Pinning,
  type Started,
  startProcess,
  stopProcess,
} from './processes.js';

export type LoadTool = 'autocannon' | 'wrk';

function startWorker(job: LoadJob, pinning: Pinning): Started {
  const [node, args] = benchScript('load-worker');
  return startProcess(`load ${job.kind}`, node, [...args, JSON.stringify(job)], pinning.load);
}

async function workerResult<T>(job: LoadJob, pinning: Pinning, timeoutSec: number): Promise<T> {
  const worker = startWorker(job, pinning);
  try {
    const line = await firstLine(worker, timeoutSec * 1000);
    await exited(worker, 5000);
    return JSON.parse(line) as T;
  } finally {
    await stopProcess(worker);
  }
}

export function runHttp(tool: LoadTool, job: HttpJob, pinning: Pinning, dir: string): Promise<HttpResult> {
  const timeoutSec = job.durationSec + 30;
  return tool === 'wrk' ? runWrk(job, pinning, dir, timeoutSec) : workerResult(job, pinning, timeoutSec);
}

export function runBulk(port: number, durationSec: number, pinning: Pinning): Promise<BulkResult> {
  return workerResult({ kind: 'bulk', port, durationSec }, pinning, durationSec + 30);
}

/** Opens `connections` idle keep-alive connections; they stay open until `release()`. */
export async function holdConnections(
  port: number,
  connections: number,
  pinning: Pinning,
): Promise<{ open: number; failed: number; release(): Promise<void> }> {
  const worker = startWorker({ kind: 'hold', port, connections }, pinning);
  const { open, failed } = JSON.parse(await firstLine(worker, 60_000)) as { open: number; failed: number };
  return {
    open,
    failed,
    async release() {
      worker.child.stdin!.end();
      await exited(worker, 5000).catch(() => stopProcess(worker));
    },
  };
}

/** wrk reports through a Lua `done` hook so that nothing has to be scraped from its text output. */
function wrkScript(job: HttpJob): string {
  const lines = [`wrk.method = "${job.method}"`];
  if (job.bodyBytes) {
    lines.push(`wrk.body = string.rep("u", ${job.bodyBytes})`);
    lines.push('wrk.headers["Content-Type"] = "application/octet-stream"');
  }
  if (job.newConnection) lines.push('wrk.headers["Connection"] = "close"');
  lines.push(`done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests":%d,"duration_us":%d,"bytes":%d,"errors":%d,"non2xx":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end`);
  return lines.join('\n');
}

async function runWrk(job: HttpJob, pinning: Pinning, dir: string, timeoutSec: number): Promise<HttpResult> {
  const script = join(
    dir,
    `wrk-${job.method}-${job.bodyBytes ?? 0}-${job.newConnection ? 'close' : 'ka'}.lua`,
  );
  writeFileSync(script, wrkScript(job));
  const threads = Math.max(1, Math.min(job.connections, pinning.load ? availableParallelism() - 1 : 1));
  const args = [
    `-t${threads}`,
    `-c${job.connections}`,
    `-d${Math.max(1, Math.round(job.durationSec))}s`,
    '--timeout',
    '10s',
    '-s',
    script,
    // wrk speaks TLS for https URLs (it does not check the certificate); keep-alive, so only
    // each connection's first request pays a handshake.
    `${job.tls ? 'https' : 'http'}://127.0.0.1:${job.port}${job.path}`,
  ];
  const wrk = startProcess('wrk', 'wrk', args, pinning.load);
  try {
    const code = await exited(wrk, timeoutSec * 1000);
    const line = /^WRK (\{.*\})$/m.exec(wrk.output());
    if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}):\n${wrk.output()}`);
    const r = JSON.parse(line[1]!) as Record<string, number>;
    const seconds = r.duration_us! / 1e6;
    return {
      requests: r.requests!,
      durationSec: seconds,
      reqPerSec: r.requests! / seconds,
      p50Ms: r.p50_us! / 1000,
      p99Ms: r.p99_us! / 1000,
      maxMs: r.max_us! / 1000,
      bytesPerSec: r.bytes! / seconds,
      errors: r.errors!,
      non2xx: r.non2xx!,
    };
  } finally {
    await stopProcess(wrk);
  }
}
