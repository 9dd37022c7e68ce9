/**
 * The worked example in deploy/mtls, run as written (ports and paths adapted): its
 * make-certs.sh makes the demo CA and node certificates, two `portside run` processes chain
 * app → A → mTLS → B → app, `portside validate` checks the files, and a node whose identity
 * is not on B's allow-list is refused.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { removeDir, TestCa, tempDir } from '../helpers/certificates.js';
import { type RunningCli, runCli, startCli } from '../helpers/cli.js';
import { type HttpUpstream, startHttpUpstream } from '../helpers/http.js';

const run = promisify(execFile);
const EXAMPLE = join(import.meta.dirname, '..', '..', 'deploy', 'mtls');

describe('mTLS between two Portside processes (deploy/mtls)', { timeout: 90_000 }, () => {
  let dir: string;
  let app: HttpUpstream;
  const processes: RunningCli[] = [];
  let nodeB: RunningCli;
  let bPort: number;

  /** An example config with its certs/ paths in `dir` and the given address replacements. */
  const adapt = async (name: string, replacements: [string, string][], as = name) => {
    let text = (await readFile(join(EXAMPLE, name), 'utf8')).replaceAll('certs/', `${dir}/certs/`);
    for (const [from, to] of replacements) {
      assert.ok(text.includes(from), `${name} has ${from}`);
      text = text.replaceAll(from, to);
    }
    const file = join(dir, as);
    await writeFile(file, text);
    return file;
  };

  before(async () => {
    dir = await tempDir();
    await copyFile(join(EXAMPLE, 'make-certs.sh'), join(dir, 'make-certs.sh'));
    await run('sh', ['make-certs.sh'], { cwd: dir });
    app = await startHttpUpstream('orders');
    const b = await adapt('node-b.yaml', [
      ['0.0.0.0:7443', '127.0.0.1:0'],
      ['127.0.0.1:8080', `127.0.0.1:${app.port}`],
    ]);
    nodeB = startCli(['run', b]);
    processes.push(nodeB);
    bPort = await nodeB.listenerPort('mesh');
  });

  after(async () => {
    for (const p of processes) p.kill();
    await app?.close();
    if (dir) await removeDir(dir);
  });

  it('validate accepts both configs and their files', async () => {
    for (const name of ['node-a.yaml', 'node-b.yaml']) {
      const file = await adapt(name, [], `validate-${name}`);
      const result = await runCli(['validate', file]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /valid/);
    }
  });

  it('validate refuses a key that does not match and warns about a certificate expiring soon', async () => {
    const ca = await TestCa.create('soon', dir);
    const soon = await ca.issue({ dns: ['soon.test'], days: 5 });
    const file = join(dir, 'checks.yaml');
    const config = (key: string) => `
listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    tls: { certificate: ${soon.certificate}, key: ${key} }
    routes: [{ match: { pathPrefix: / }, cluster: app }]
clusters:
  - name: app
    endpoints: ["127.0.0.1:1"]
`;
    await writeFile(file, config(soon.key));
    const warned = await runCli(['validate', file]);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /warning: listener "web" tls: .*soon\.test\.crt expires on .* \(in 4 days\)/);
    await writeFile(file, config(`${dir}/certs/node-a.key`));
    const refused = await runCli(['validate', file]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /node-a\.key: this key does not match the certificate in .*soon\.test\.crt/);
  });

  it('carries requests app → A → mTLS → B → app', async () => {
    const a = await adapt(
      'node-a.yaml',
      [
        ['127.0.0.1:7080', '127.0.0.1:0'],
        ['127.0.0.1:7443', `127.0.0.1:${bPort}`],
      ],
      'node-a.yaml',
    );
    const nodeA = startCli(['run', a]);
    processes.push(nodeA);
    const port = await nodeA.listenerPort('to-orders');
    const response = await fetch(`http://127.0.0.1:${port}/orders/42`);
    assert.equal(response.status, 200, JSON.stringify([nodeA.lines.slice(-3), nodeB.lines.slice(-3)]));
    const seen = (await response.json()) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/orders/42');
    assert.equal(seen.headers['x-forwarded-proto'], 'https', 'B terminated TLS');
    assert.match(seen.headers['x-forwarded-for'] ?? '', /127\.0\.0\.1, 127\.0\.0\.1/, 'through both proxies');
  });

  it('B refuses a node whose identity is not allowed', async () => {
    // Node B's own certificate as a client: signed by the mesh CA, but not on allowedClients.
    const impostor = await adapt(
      'node-a.yaml',
      [
        ['127.0.0.1:7080', '127.0.0.1:0'],
        ['127.0.0.1:7443', `127.0.0.1:${bPort}`],
        [`${dir}/certs/node-a.`, `${dir}/certs/node-b.`],
      ],
      'impostor.yaml',
    );
    const nodeC = startCli(['run', impostor]);
    processes.push(nodeC);
    const port = await nodeC.listenerPort('to-orders');
    const response = await fetch(`http://127.0.0.1:${port}/orders/1`);
    assert.equal(response.status, 502);
    // TLS 1.3: B judges the identity after the handshake and closes; A sees the connection end.
    assert.match(response.headers.get('x-portside-error') ?? '', /^upstream-(reset|tls)$/);
    await response.text();
    const refused = await nodeB.waitForLog((l) => l.msg === 'TLS client refused');
    assert.match(String(refused.reason), /not allowed \(.*spiffe:\/\/mesh\.test\/node\/node-b/);
  });
});
