import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { Unavailable } from '../../src/core/endpoint.js';
import { type HttpUpstream, httpClient, rawExchange, startHttpUpstream } from '../helpers/http.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { deadPort, startTcpServer } from '../helpers/servers.js';
import { eventually } from '../helpers/wait.js';

function config(routes: string, clusters: Record<string, number[]>, limits = ''): string {
  return `listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
${limits}    upstream: { connectTimeout: 500ms }
    routes:
${routes}
clusters:
${Object.entries(clusters)
  .map(
    ([name, ports]) => `  - { name: ${name}, endpoints: [${ports.map((p) => `127.0.0.1:${p}`).join(', ')}] }`,
  )
  .join('\n')}
`;
}

describe('L7 errors, retries and protection', { timeout: 60_000 }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  async function upstream(...args: Parameters<typeof startHttpUpstream>): Promise<HttpUpstream> {
    const u = await startHttpUpstream(...args);
    cleanups.push(() => u.close());
    return u;
  }
  async function proxy(yaml: string): Promise<TestProxy & { client: ReturnType<typeof httpClient> }> {
    const p = await startProxy(yaml);
    const client = httpClient(p.port('web'));
    cleanups.push(async () => {
      await client.close();
      await p.stop();
    });
    return { ...p, stop: p.stop, port: p.port, client };
  }

  it('answers 404/502/503/504 with x-portside-error codes', async () => {
    const silent = await upstream('silent', () => {}); // never answers
    const resetter = await upstream('reset', (req) => req.socket.destroy());
    const ok = await upstream('ok');
    const garbage = await startTcpServer((socket) => socket.end('this is not http\r\n\r\n'));
    cleanups.push(() => garbage.close());
    const p = await proxy(
      config(
        `      - { match: { path: /dead }, cluster: dead }
      - { match: { path: /down }, cluster: down }
      - { match: { path: /slow }, cluster: slow, timeout: 300ms }
      - { match: { path: /reset }, cluster: reset, retries: { attempts: 0 } }
      - { match: { path: /garbage }, cluster: garbage }`,
        {
          dead: [await deadPort()],
          down: [ok.port],
          slow: [silent.port],
          reset: [resetter.port],
          garbage: [garbage.port],
        },
      ),
    );
    p.proxy.current!.clusters.get('down')!.endpoints[0]!.state.setFlag(Unavailable.ActiveCheckFailed, true);
    const expect = async (path: string, status: number, code: string) => {
      const reply = await p.client.request(path);
      assert.equal(reply.status, status, `${path}: ${reply.body}`);
      assert.equal(reply.headers['x-portside-error'], code, path);
      assert.match(reply.body, new RegExp(code));
    };
    await expect('/nowhere', 404, 'no-route');
    await expect('/dead', 502, 'upstream-connect-failed');
    await expect('/down', 503, 'no-healthy-endpoint');
    await expect('/slow', 504, 'upstream-timeout');
    await expect('/reset', 502, 'upstream-reset');
    await expect('/garbage', 502, 'upstream-protocol-error');
    assert.equal(p.proxy.listener('web')!.stats.rejectedTotal, 2, 'the 502 connect failure and the 503');
    const log = await eventually(() => p.lines.find((l) => l.msg === 'http request' && l.path === '/slow'), {
      what: 'the access log line of /slow',
    });
    assert.equal(log?.status, 504);
    assert.equal(log?.error, 'upstream-timeout');
  });

  it('retries on the other endpoint when one is dead: 0 client errors over 1,000 GETs', async () => {
    const live = await upstream('live', (_req, res) => res.end('live'));
    const p = await proxy(
      config('      - { match: {}, cluster: pair }', { pair: [await deadPort(), live.port] }),
    );
    let errors = 0;
    for (let batch = 0; batch < 20; batch++) {
      const replies = await Promise.all(Array.from({ length: 50 }, () => p.client.request('/')));
      errors += replies.filter((r) => r.status !== 200 || r.body !== 'live').length;
    }
    assert.equal(errors, 0);
    assert.equal(live.requests.length, 1000);
    const dead = p.proxy.current!.clusters.get('pair')!.endpoints[0]!;
    assert.ok(dead.state.failuresTotal > 0, 'the dead endpoint was tried and its failures reported');
  });

  it('retries a retryable status (with a buffered PUT body) on another endpoint', async () => {
    const busy = await upstream('busy', (_req, res) => res.writeHead(503).end('busy'));
    const good = await upstream('good', (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c)).on('end', () => res.end(`got ${body}`));
    });
    const p = await proxy(
      config('      - { match: {}, cluster: two, retries: { attempts: 1, on: [503] } }', {
        two: [busy.port, good.port],
      }),
    );
    for (let i = 0; i < 10; i++) {
      const reply = await p.client.request('/', { method: 'PUT', body: `payload-${i}` });
      assert.equal(reply.status, 200);
      assert.equal(reply.body, `got payload-${i}`);
    }
    assert.ok(busy.requests.length >= 5, 'the busy endpoint was tried');
  });

  it('retries a streamed (unbuffered) POST body after a connect failure, intact', async () => {
    const echoHash = await upstream('hash', (req, res) => {
      const hash = createHash('sha256');
      req.on('data', (c: Buffer) => hash.update(c)).on('end', () => res.end(hash.digest('hex')));
    });
    const p = await proxy(
      config('      - { match: {}, cluster: pair }', { pair: [await deadPort(), echoHash.port] }),
    );
    const body = randomBytes(512 * 1024); // over the 64 KiB retry buffer: streamed, never buffered
    const expected = createHash('sha256').update(body).digest('hex');
    for (let i = 0; i < 6; i++) {
      const reply = await p.client.request('/upload', { method: 'POST', body });
      assert.equal(reply.status, 200, reply.body);
      assert.equal(reply.body, expected);
    }
  });

  it('retries an attempt that passes perTryTimeout on another endpoint', async () => {
    const silent = await upstream('silent', () => {});
    const ok = await upstream('ok', (_req, res) => res.end('ok'));
    const p = await proxy(
      config(
        '      - { match: {}, cluster: two, perTryTimeout: 500ms, timeout: 10s, retries: { attempts: 1, on: [timeout] } }',
        { two: [silent.port, ok.port] },
      ),
    );
    for (let i = 0; i < 4; i++) assert.equal((await p.client.request('/')).body, 'ok');
    assert.ok(silent.requests.length >= 2, 'the silent endpoint was tried');
  });

  it('starts the route timeout when the request is complete, so a slow upload is not cut', async () => {
    const sink = await upstream('sink', (req, res) => {
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length)).on('end', () => res.end(String(bytes)));
    });
    const p = await proxy(config('      - { match: {}, cluster: sink, timeout: 1s }', { sink: [sink.port] }));
    const reply = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        { port: p.port('web'), host: '127.0.0.1', method: 'POST', path: '/' },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode, body }));
        },
      );
      req.on('error', reject);
      // A client that takes ~2 s to send its body: longer than the route timeout.
      let sent = 0;
      const tick = setInterval(() => {
        req.write(Buffer.alloc(1000));
        if (++sent === 10) {
          clearInterval(tick);
          req.end();
        }
      }, 200);
    });
    assert.deepEqual(reply, { status: 200, body: '10000' });
  });

  it("propagates a client's abort to the upstream request", async () => {
    let upstreamClosed!: Promise<unknown>;
    let arrivedNow!: () => void;
    const arrived = new Promise<void>((resolve) => (arrivedNow = resolve));
    const hanging = await upstream('hang', (req) => {
      upstreamClosed = once(req.socket, 'close');
      arrivedNow();
    });
    const p = await proxy(config('      - { match: {}, cluster: hang }', { hang: [hanging.port] }));
    const client = httpRequest({ port: p.port('web'), host: '127.0.0.1', path: '/wait' });
    client.on('error', () => {});
    client.end();
    await arrived;
    client.destroy();
    await upstreamClosed; // resolves only if the proxy closed the upstream connection
    const log = await eventually(() => p.lines.find((l) => l.error === 'client-abort'), {
      what: 'the access log to record the client abort',
    });
    assert.ok(log, 'the access log records the client abort');
    const endpoint = p.proxy.current!.clusters.get('hang')!.endpoints[0]!;
    assert.equal(endpoint.state.active, 0);
  });

  it('a client that disconnects mid-upload aborts the upstream request, and the proxy carries on', async () => {
    let upstreamAborted!: Promise<unknown>;
    let receiving!: () => void;
    const started = new Promise<void>((resolve) => (receiving = resolve));
    const sink = await upstream('sink', (req, res) => {
      upstreamAborted = new Promise((resolve) => req.once('close', resolve));
      req.on('error', () => {});
      req.once('data', () => receiving());
      req.on('end', () => res.end('complete?'));
    });
    const p = await proxy(config('      - { match: {}, cluster: sink }', { sink: [sink.port] }));
    const client = httpRequest({ port: p.port('web'), host: '127.0.0.1', method: 'POST', path: '/up' });
    client.on('error', () => {});
    client.write(Buffer.alloc(256 * 1024));
    await started;
    client.destroy();
    await upstreamAborted;
    assert.equal(sink.requests.length, 1);
    assert.equal((await p.client.request('/after')).status, 200, 'the proxy still serves');
    await eventually(() => p.proxy.current!.clusters.get('sink')!.endpoints[0]!.state.active === 0, {
      what: 'the aborted attempt to end',
    });
  });

  it('survives random garbage from upstreams and from clients', async () => {
    let reply = Buffer.alloc(0);
    const garbage = await startTcpServer((socket) => {
      socket.once('data', () => socket.end(reply));
    });
    cleanups.push(() => garbage.close());
    const p = await proxy(
      config('      - { match: {}, cluster: g, retries: { attempts: 0 } }', { g: [garbage.port] }),
    );
    const prefixes = ['', 'HTTP/1.1 200 OK\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', 'HTTP/1.1 '];
    const samples = fc.sample(fc.tuple(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 200 })), 40);
    for (const [prefix, bytes] of samples) {
      reply = Buffer.concat([Buffer.from(prefix), bytes]);
      const answer = await p.client.request('/').catch((error: Error) => error);
      // Either a 502 from Portside, something the upstream did manage to say, or a cut response.
      if (!(answer instanceof Error) && answer.status >= 500)
        assert.ok(answer.headers['x-portside-error'], String(answer.status));
    }
    for (const bytes of fc.sample(fc.uint8Array({ minLength: 1, maxLength: 300 }), 40)) {
      const { response } = await rawExchange(p.port('web'), Buffer.from(bytes).toString('latin1'), 500);
      if (response) assert.match(response, /^HTTP\/1\.1 (4\d\d|502)/);
    }
    reply = Buffer.from('HTTP/1.1 204 No Content\r\n\r\n');
    assert.equal((await p.client.request('/')).status, 204, 'still serving after the garbage');
  });

  it('rejects CL+TE smuggling with 400 and never forwards it', async () => {
    const target = await upstream('target');
    const p = await proxy(config('      - { match: {}, cluster: t }', { t: [target.port] }));
    const { response } = await rawExchange(
      p.port('web'),
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    assert.match(response, /^HTTP\/1\.1 400 /);
    assert.match(response, /x-portside-error: bad-request/);
    assert.equal(target.requests.length, 0);
  });

  it('closes a client that sends its headers too slowly (408), and refuses too many headers (431)', async () => {
    const target = await upstream('target');
    const p = await proxy(
      config(
        '      - { match: {}, cluster: t }',
        { t: [target.port] },
        '    limits: { headersTimeout: 300ms, maxHeaders: 10 }\n',
      ),
    );
    const slow = await rawExchange(p.port('web'), 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n', 10_000);
    assert.equal(slow.closedBy, 'server', 'the proxy closed the connection, not the test timeout');
    assert.match(slow.response, /^HTTP\/1\.1 408 /);
    assert.match(slow.response, /x-portside-error: headers-timeout/);
    const many = Array.from({ length: 12 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const crowded = await rawExchange(
      p.port('web'),
      `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${many}\r\n`,
    );
    assert.match(crowded.response, /^HTTP\/1\.1 431 /);
    assert.match(crowded.response, /x-portside-error: headers-too-large/);
    const huge = await rawExchange(
      p.port('web'),
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    assert.match(huge.response, /^HTTP\/1\.1 431 /);
    assert.equal(target.requests.length, 0);
  });
});
