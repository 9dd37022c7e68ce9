/**
 * An open loop at a fixed rate: `connections` keep-alive connections, each sending one
 * request every `connections / ratePerSec` seconds on its own schedule (staggered, so the
 * rate is even), the next one as soon as the answer is in when an answer comes late.
 * autocannon's `overallRate` sends each tick's budget in a burst, which measures its own
 * bursts; wrk2, which paces, is not packaged here. Latency runs from the moment of sending.
 */
import { connect, type Socket } from 'node:net';
import { LatencyHistogram } from './latency.js';
import type { HttpJob, HttpResult } from './load-types.js';

const HEAD_END = Buffer.from('\r\n\r\n');

/** Total length of the response that starts `data` once its head is complete, else undefined. */
function responseLength(data: Buffer): number | undefined {
  const end = data.indexOf(HEAD_END);
  if (end === -1) return undefined;
  const head = data.toString('latin1', 0, end).toLowerCase();
  const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
  return end + HEAD_END.length + (length ? Number(length[1]) : 0);
}

export async function pacedRequests(job: HttpJob & { ratePerSec: number }): Promise<HttpResult> {
  const histogram = new LatencyHistogram();
  const request = Buffer.from(`${job.method} ${job.path} HTTP/1.1\r\nHost: bench\r\n\r\n`);
  const intervalMs = (job.connections * 1000) / job.ratePerSec;
  const started = performance.now();
  const deadline = started + job.durationSec * 1000;
  const totals = { requests: 0, errors: 0, non2xx: 0, bytes: 0 };

  const run = (index: number) =>
    new Promise<void>((resolve) => {
      const socket: Socket = connect(job.port, '127.0.0.1');
      socket.setNoDelay(true);
      let due = started + (index * intervalMs) / job.connections;
      let sentAt = 0;
      let pending: Buffer[] = [];
      let received = 0;
      const send = () => {
        if (performance.now() >= deadline) return socket.end();
        sentAt = performance.now();
        socket.write(request);
      };
      const schedule = () => {
        due += intervalMs;
        const wait = due - performance.now();
        if (wait > 0) setTimeout(send, wait);
        else send();
      };
      socket.on('connect', () => setTimeout(send, Math.max(0, due - performance.now())));
      socket.on('data', (chunk: Buffer) => {
        pending.push(chunk);
        received += chunk.length;
        const data = pending.length === 1 ? chunk : Buffer.concat(pending);
        const length = responseLength(data);
        if (length === undefined || received < length) return;
        histogram.recordMs(performance.now() - sentAt);
        totals.requests++;
        totals.bytes += length;
        if (!data.toString('latin1', 0, 12).startsWith('HTTP/1.1 2')) totals.non2xx++;
        pending = [];
        received = 0;
        schedule();
      });
      socket.on('error', () => totals.errors++);
      socket.on('close', () => resolve());
    });

  await Promise.all(Array.from({ length: job.connections }, (_, i) => run(i)));
  const durationSec = (performance.now() - started) / 1000;
  return {
    requests: totals.requests,
    durationSec,
    reqPerSec: totals.requests / durationSec,
    p50Ms: histogram.percentileMs(50),
    p99Ms: histogram.percentileMs(99),
    maxMs: histogram.maxMs(),
    bytesPerSec: totals.bytes / durationSec,
    errors: totals.errors,
    non2xx: totals.non2xx,
  };
}
