/**
 * Child process: the Node side of the load, run on the load CPUs so it never shares the
 * proxy's core. Reads one job (JSON in argv[2]) and prints one JSON result line.
 *   http — autocannon against a port, with µs latency percentiles; with `newConnection`, a plain
 *          connect-request-close loop instead, because autocannon cannot do that correctly
 *          (its `reconnectRate` drops the responses it resets on, and on server-closed
 *          connections it pairs responses with the wrong start times); with `tls` too, each
 *          connection is a TLS handshake (full, or resuming the newest session);
 *   bulk — one TCP connection, read as fast as possible, report MB/s;
 *   http with `ratePerSec` — an open loop at a fixed rate (paced-load.ts);
 *   hold — open N keep-alive connections (one request each), print when ready, hold until stdin ends.
 */
import { connect, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import autocannon from 'autocannon';
import { LatencyHistogram } from './latency.js';
import type { BulkResult, HttpResult, LoadJob } from './load-types.js';
import { pacedRequests } from './paced-load.js';
import { TLS_SERVER_NAME } from './tls-certificate.js';

const job = JSON.parse(process.argv[2]!) as LoadJob;

function done(result: unknown): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function http(job: Extract<LoadJob, { kind: 'http' }>): Promise<HttpResult> {
  const histogram = new LatencyHistogram();
  const headers: Record<string, string> = {};
  if (job.bodyBytes) headers['content-type'] = 'application/octet-stream';
  let finished: (result: autocannon.Result) => void = () => {};
  let failed: (error: Error) => void = () => {};
  const ended = new Promise<autocannon.Result>((resolve, reject) => {
    finished = resolve;
    failed = reject;
  });
  const options: autocannon.Options = {
    url: `http://127.0.0.1:${job.port}${job.path}`,
    method: job.method,
    body: job.bodyBytes ? Buffer.alloc(job.bodyBytes, 'u') : undefined,
    headers,
    connections: job.connections,
    duration: job.durationSec,
    timeout: 10,
  };
  const instance = autocannon(options, (error, result) => (error ? failed(error) : finished(result)));
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTimeMs: number) => {
    histogram.recordMs(responseTimeMs);
  });
  const result = await ended;
  return {
    requests: result.requests.total,
    durationSec: result.duration,
    reqPerSec: result.requests.total / result.duration,
    p50Ms: histogram.percentileMs(50),
    p99Ms: histogram.percentileMs(99),
    maxMs: histogram.maxMs(),
    bytesPerSec: result.throughput.total / result.duration,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/**
 * Opens one connection of a new-connection loop: plain TCP, or TLS. The certificate is not
 * verified (the target's start-up check compared it with the bench's): a client checking a
 * chain would spend load-core CPU on it that says nothing about the server. `resumed` offers
 * the newest session the target sent, as a browser would: with TLS 1.3 a server may take a
 * ticket only once, and every connection gets new ones.
 */
function dialer(job: Extract<LoadJob, { kind: 'http' }>): () => { socket: Socket; ready: string } {
  if (!job.tls) return () => ({ socket: connect(job.port, '127.0.0.1'), ready: 'connect' });
  let session: Buffer | undefined;
  const resume = job.tls === 'resumed';
  return () => {
    const socket = connectTls({
      host: '127.0.0.1',
      port: job.port,
      servername: TLS_SERVER_NAME,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
      session: resume ? session : undefined,
    });
    if (resume) socket.on('session', (next: Buffer) => (session = next));
    return { socket, ready: 'secureConnect' };
  };
}

/**
 * Each of `connections` loops: connect, send one request with `Connection: close`, wait for
 * close. Over TLS, counts the connections whose session was resumed.
 */
async function newConnections(job: Extract<LoadJob, { kind: 'http' }>): Promise<HttpResult> {
  const histogram = new LatencyHistogram();
  const request = Buffer.from(
    `${job.method} ${job.path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n`,
  );
  const dial = dialer(job);
  let requests = 0;
  let errors = 0;
  let non2xx = 0;
  let bytes = 0;
  let resumed = 0;
  const started = performance.now();
  const deadline = started + job.durationSec * 1000;
  const once = () =>
    new Promise<void>((resolve) => {
      const sent = performance.now();
      const { socket, ready } = dial();
      let status = '';
      let received = 0;
      let failed = false;
      let reused = false;
      socket.on(ready, () => {
        if (job.tls) reused = (socket as TLSSocket).isSessionReused();
        socket.write(request);
      });
      socket.on('data', (chunk) => {
        if (received === 0) status = chunk.toString('latin1', 0, 10);
        received += chunk.length;
      });
      socket.on('error', () => {
        failed = true;
      });
      socket.on('close', () => {
        if (failed || received === 0) errors++;
        else {
          requests++;
          if (reused) resumed++;
          bytes += received;
          if (!status.startsWith('HTTP/1.1 2')) non2xx++;
          histogram.recordMs(performance.now() - sent);
        }
        resolve();
      });
    });
  const loop = async () => {
    while (performance.now() < deadline) await once();
  };
  await Promise.all(Array.from({ length: job.connections }, loop));
  const durationSec = (performance.now() - started) / 1000;
  return {
    requests,
    durationSec,
    reqPerSec: requests / durationSec,
    p50Ms: histogram.percentileMs(50),
    p99Ms: histogram.percentileMs(99),
    maxMs: histogram.maxMs(),
    bytesPerSec: bytes / durationSec,
    errors,
    non2xx,
    ...(job.tls ? { resumed } : {}),
  };
}

function bulk(job: Extract<LoadJob, { kind: 'bulk' }>): Promise<BulkResult> {
  return new Promise((resolve, reject) => {
    const socket = connect(job.port, '127.0.0.1');
    let bytes = 0;
    let started = 0n;
    socket.on('data', (chunk) => {
      if (started === 0n) {
        started = process.hrtime.bigint();
        setTimeout(finish, job.durationSec * 1000);
        return;
      }
      bytes += chunk.length;
    });
    const finish = () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      socket.destroy();
      resolve({ bytes, durationSec: seconds, mbPerSec: bytes / seconds / 1e6 });
    };
    socket.on('error', reject);
  });
}

/** Opens `count` connections, 100 at a time, each with one answered request. */
async function hold(job: Extract<LoadJob, { kind: 'hold' }>): Promise<void> {
  const sockets: Socket[] = [];
  let failed = 0;
  const openOne = () =>
    new Promise<void>((resolve) => {
      const socket = connect(job.port, '127.0.0.1');
      sockets.push(socket);
      socket.setTimeout(10_000, () => socket.destroy());
      socket.once('error', () => {
        failed++;
        resolve();
      });
      socket.once('connect', () => socket.write('GET /small HTTP/1.1\r\nHost: bench\r\n\r\n'));
      socket.once('data', () => {
        socket.setTimeout(0);
        resolve();
      });
      socket.once('close', () => resolve());
    });
  for (let i = 0; i < job.connections; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, job.connections - i) }, openOne));
  }
  done({ open: sockets.filter((s) => !s.destroyed).length, failed });
  process.stdin.resume();
  process.stdin.on('end', () => {
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  });
}

if (job.kind === 'http') {
  const { ratePerSec } = job;
  if (ratePerSec) done(await pacedRequests({ ...job, ratePerSec }));
  else done(await (job.newConnection ? newConnections(job) : http(job)));
} else if (job.kind === 'bulk') done(await bulk(job));
else await hold(job);
