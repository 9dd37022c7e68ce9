import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, runCli, startCli } from '../helpers/cli.js';
import { type HttpUpstream, httpClient, startHttpUpstream } from '../helpers/http.js';
import { deadPort } from '../helpers/servers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE = join(ROOT, 'config', 'http-example.yaml');
const dir = mkdtempSync(join(tmpdir(), 'portside-l7-e2e-'));

describe('portside CLI with an http listener', { timeout: 60_000 }, () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("validate accepts the issue's example and points at mistakes with file:line:col", async () => {
    const ok = await runCli(['validate', EXAMPLE]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /valid \(1 listener, 4 clusters, 5 static endpoints\)/);
    const example = readFileSync(EXAMPLE, 'utf8');
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, example.replace('methods: [GET, HEAD]', 'methods: []'));
    const bad = await runCli(['validate', broken]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /broken\.yaml:16:49 listeners\[0\]\.routes\[2\]\.match\.methods: list at least one method/,
    );
    const typo = join(dir, 'typo.yaml');
    writeFileSync(typo, example.replace('cluster: static', 'cluster: statik'));
    const unknown = await runCli(['validate', typo]);
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /typo\.yaml:17:18 listeners\[0\]\.routes\[2\]\.cluster: unknown cluster "statik" \(did you mean "static"\?\)/,
    );
  });

  it("runs the issue's example config as written (ports adapted) and routes by host, path, method and header", async () => {
    const names = ['api', 'web', 'web-canary', 'static'] as const;
    const up = {} as Record<(typeof names)[number], HttpUpstream>;
    for (const n of names) {
      up[n] = await startHttpUpstream(n);
      cleanups.push(() => up[n].close());
    }
    // 9002 stays dead: the api route's retries must hide it.
    const text = readFileSync(EXAMPLE, 'utf8')
      .replace('127.0.0.1:8080', '127.0.0.1:0')
      .replace('127.0.0.1:9001', `127.0.0.1:${up.api.port}`)
      .replace('127.0.0.1:9002', `127.0.0.1:${await deadPort()}`)
      .replace('127.0.0.1:9101', `127.0.0.1:${up.web.port}`)
      .replace('127.0.0.1:9102', `127.0.0.1:${up['web-canary'].port}`)
      .replace('127.0.0.1:9201', `127.0.0.1:${up.static.port}`);
    const file = join(dir, 'http.yaml');
    writeFileSync(file, text);
    const cli = startCli(['run', '-c', file]);
    cleanups.push(() => cli.kill());
    const port = await cli.listenerPort('web');
    const client = httpClient(port);
    cleanups.push(() => client.close());

    for (let i = 0; i < 6; i++) {
      const api = await client.json('/v1/users?page=2', { headers: { host: 'api.example.com' } });
      assert.equal(api.name, 'api');
      assert.equal(api.url, '/users?page=2');
    }
    const split: Record<string, number> = {};
    for (let i = 0; i < 20; i++) {
      const r = await client.json('/', { headers: { host: 'shop.example.com', 'x-canary': '1' } });
      split[r.name] = (split[r.name] ?? 0) + 1;
    }
    assert.deepEqual(split, { 'web-canary': 2, web: 18 });
    const asset = await client.json('/static/app.js', { headers: { cookie: 'a=b' } });
    assert.equal(asset.name, 'static');
    assert.equal(asset.headers['x-served-by'], 'portside');
    assert.equal(asset.headers.cookie, undefined);
    assert.equal((await client.json('/static/app.js', { method: 'POST' })).name, 'web');
    assert.equal((await client.json('/anything')).name, 'web');

    const line = await cli.waitForLog((l) => l.msg === 'http request' && l.path === '/anything');
    assert.equal(line.status, 200);
    assert.equal(line.cluster, 'web');
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0, cli.stderr());
  });
});

describe('portside demo', { timeout: 30_000 }, () => {
  it('shows an HTTP listener routing to the demo upstreams', async () => {
    const child = spawn(process.execPath, [CLI, 'demo', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', (chunk) => {
          out += chunk;
          const match = /HTTP listener on 127\.0\.0\.1:(\d+)/.exec(out);
          if (match && out.includes('Live dashboard')) resolve(Number(match[1]));
        });
        child.once('exit', () => reject(new Error(`demo exited early: ${out}`)));
      });
      const dashboard = /Live dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      assert.ok(dashboard, `the demo prints its dashboard address:\n${out}`);
      // As a browser asks for it (any other client gets the endpoint list).
      const page = await fetch(dashboard[1]!, { headers: { accept: 'text/html' } });
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      const client = httpClient(port);
      const first = await client.request('/api/users');
      const second = await client.request('/api/users');
      await client.close();
      assert.equal(first.status, 200);
      assert.deepEqual([first.body, second.body].sort(), [
        'hello from upstream A (GET /users)\n',
        'hello from upstream B (GET /users)\n',
      ]);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
