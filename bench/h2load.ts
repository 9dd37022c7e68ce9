/**
 * HTTP/2 load with h2load (Debian `nghttp2-client`): `-c` connections, `-m` concurrent
 * streams on each, for a fixed duration. h2load prints only a mean and a standard deviation
 * of latency, so every request's time is read from its `--log-file` for the percentiles.
 * A gRPC job sends the framed request with the headers a gRPC client sends; h2load counts a
 * 2xx as success and does not read `grpc-status`, which the targets' start-up check does.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GRPC_REQUEST } from './grpc-frames.js';
import { LatencyHistogram } from './latency.js';
import type { HttpResult } from './load-types.js';
import { exited, type Pinning, startProcess, stopProcess } from './processes.js';

export interface H2Job {
  port: number;
  path: string;
  grpc: boolean;
  connections: number;
  streams: number;
  durationSec: number;
}

function h2loadArgs(job: H2Job, dir: string, logFile: string): string[] {
  const args = [
    `-c${job.connections}`,
    `-m${job.streams}`,
    `-D${Math.max(1, Math.round(job.durationSec))}`,
    `--log-file=${logFile}`,
  ];
  if (job.grpc) {
    const body = join(dir, 'grpc-request.bin');
    writeFileSync(body, GRPC_REQUEST);
    args.push('-H', 'content-type: application/grpc', '-H', 'te: trailers', '-d', body);
  }
  return [...args, `http://127.0.0.1:${job.port}${job.path}`];
}

/** The summary lines of h2load's output, e.g. "finished in 3.00s, 85453.33 req/s, 4.08MB/s". */
function parseOutput(text: string) {
  const finished = /finished in ([\d.]+)(m?s), ([\d.]+) req\/s, ([\d.]+)([KMG]?B)\/s/.exec(text);
  const requests =
    /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      text,
    );
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  if (!finished || !requests || !codes) return undefined;
  const unit = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[finished[5]!] ?? 1;
  return {
    durationSec: Number(finished[1]) / (finished[2] === 'ms' ? 1000 : 1),
    reqPerSec: Number(finished[3]),
    bytesPerSec: Number(finished[4]) * unit,
    done: Number(requests[2]),
    errors: Number(requests[4]) + Number(requests[5]) + Number(requests[6]),
    non2xx: Number(codes[2]) + Number(codes[3]) + Number(codes[4]),
  };
}

/** `--log-file` lines: start time (µs since the epoch), status, response time (µs). */
function latencies(logFile: string): LatencyHistogram {
  const histogram = new LatencyHistogram();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const micros = Number(line.slice(line.lastIndexOf('\t') + 1));
    if (line !== '' && Number.isFinite(micros)) histogram.recordMs(micros / 1000);
  }
  return histogram;
}

export async function runH2load(job: H2Job, pinning: Pinning, dir: string): Promise<HttpResult> {
  const logFile = join(dir, 'h2load.log');
  writeFileSync(logFile, '');
  const h2load = startProcess('h2load', 'h2load', h2loadArgs(job, dir, logFile), pinning.load);
  try {
    const code = await exited(h2load, (job.durationSec + 30) * 1000);
    const summary = parseOutput(h2load.output());
    if (code !== 0 || !summary) throw new Error(`h2load failed (exit ${code}):\n${h2load.output()}`);
    const histogram = latencies(logFile);
    return {
      requests: summary.done,
      durationSec: summary.durationSec,
      reqPerSec: summary.reqPerSec,
      p50Ms: histogram.percentileMs(50),
      p99Ms: histogram.percentileMs(99),
      maxMs: histogram.maxMs(),
      bytesPerSec: summary.bytesPerSec,
      errors: summary.errors,
      non2xx: summary.non2xx,
    };
  } finally {
    await stopProcess(h2load);
  }
}
