import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { type HttpUpstream, rawExchange, startHttpUpstream } from '../helpers/http.js';

const dir = mkdtempSync(join(tmpdir(), 'portside-regex-e2e-'));

/**
 * The proxy runs as its own process, so that a pattern that backtracks freezes it and not
 * the test: then the requests below time out instead of being answered.
 */
describe('route regexes are matched in linear time', { timeout: 120_000 }, () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('answers a path built to make (a+)+b backtrack, and serves another connection meanwhile', async () => {
    const up: Record<string, HttpUpstream> = {};
    for (const name of ['files', 'web']) {
      up[name] = await startHttpUpstream(name);
      cleanups.push(() => up[name]!.close());
    }
    const file = join(dir, 'regex.yaml');
    writeFileSync(
      file,
      `listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    routes:
      - match: { pathRegex: "/files/(a+)+b" }
        cluster: files
      - match: { pathPrefix: / }
        cluster: web
clusters:
  - { name: files, endpoints: [127.0.0.1:${up.files!.port}] }
  - { name: web, endpoints: [127.0.0.1:${up.web!.port}] }
`,
    );
    const cli = startCli(['run', '-c', file]);
    cleanups.push(() => cli.kill());
    const port = await cli.listenerPort('web');
    const request = (path: string) =>
      rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`, 30_000);

    // A backtracking engine needs about 2^40 steps for this one (28 a's took 9.4 s).
    const attack = request(`/files/${'a'.repeat(40)}c`);
    const other = request('/files/aaab');
    const [attacked, served] = await Promise.all([attack, other]);
    assert.equal(served.closedBy, 'server', 'the second connection is answered');
    assert.match(served.response, /^HTTP\/1\.1 200 /);
    assert.match(served.response, /"name":"files"/);
    assert.equal(attacked.closedBy, 'server', 'the attack request is answered');
    assert.match(attacked.response, /^HTTP\/1\.1 200 /);
    assert.match(attacked.response, /"name":"web"/, 'the regex does not match it: the catch-all does');
  });
});
