/**
 * The access log per listener: to a file (reopened on reload, so rotation works as with
 * nginx), sampled (Portside's own error answers always logged), or off.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { flushInfoLines } from '../../src/core/info-lines.js';
import { type HttpUpstream, httpClient, startHttpUpstream } from '../helpers/http.js';
import { parseConfig, startProxy, type TestProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'portside-access-log-'));
const file = join(dir, 'logs', 'web.log');

function config(upstream: number, accessLog: string): string {
  return `
listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    accessLog: ${accessLog}
    routes: [{ name: app, match: { pathPrefix: /app }, cluster: up }]
clusters:
  - { name: up, endpoints: [127.0.0.1:${upstream}] }
`;
}

const linesOf = (path: string) =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];

describe('access log per listener', { timeout: 60_000 }, () => {
  let up: HttpUpstream;
  let proxy: TestProxy;

  before(async () => {
    up = await startHttpUpstream('up');
    proxy = await startProxy(config(up.port, `{ file: "${file}", sample: 0% }`));
  });
  after(async () => {
    await proxy?.stop();
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes to its file, sampled, with errors always logged', async () => {
    const client = httpClient(proxy.port('web'));
    for (let i = 0; i < 5; i++) assert.equal((await client.request(`/app/${i}`)).status, 200);
    assert.equal((await client.request('/nowhere')).status, 404);
    await client.close();
    const lines = await eventually(() => {
      const l = linesOf(file);
      return l.length > 0 ? l : undefined;
    });
    assert.equal(lines.length, 1, 'a 0% sample logs only the error');
    assert.equal(lines[0]!.path, '/nowhere');
    assert.equal(lines[0]!.error, 'no-route');
    assert.equal(lines[0]!.level, 30);
    assert.equal(lines[0]!.msg, 'http request');
    flushInfoLines();
    assert.ok(!proxy.lines.some((l) => l.msg === 'http request'), 'nothing went to the main log');
  });

  it('reopens the file on reload, so a rotated file is left alone', async () => {
    renameSync(file, `${file}.1`);
    await proxy.proxy.apply(parseConfig(config(up.port, `{ file: "${file}" }`)));
    const client = httpClient(proxy.port('web'));
    assert.equal((await client.request('/app/after')).status, 200);
    await client.close();
    const lines = await eventually(() => {
      const l = linesOf(file);
      return l.length > 0 ? l : undefined;
    });
    assert.equal(lines[0]!.path, '/app/after');
    assert.equal(lines[0]!.route, 'app', 'the route by name');
    assert.equal(linesOf(`${file}.1`).length, 1, 'the rotated file got nothing more');
  });

  it('logs nothing when off', async () => {
    await proxy.proxy.apply(parseConfig(config(up.port, 'false')));
    const before = linesOf(file).length;
    const client = httpClient(proxy.port('web'));
    await client.request('/app/quiet');
    await client.request('/nowhere');
    await client.close();
    // Lines are written in batches: write whatever is pending before looking for none.
    flushInfoLines();
    assert.equal(linesOf(file).length, before);
    assert.ok(!proxy.lines.some((l) => l.msg === 'http request'));
  });
});
