/**
 * Certificate rotation without a restart: files swapped the way Kubernetes updates a Secret
 * volume (a `..data` symlink replaced atomically) while autocannon keeps requests and new
 * handshakes going; every new handshake soon shows the new serial, and no request fails. A
 * bad pair (a key that does not match) keeps the old certificate and says which file.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, rename, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createMetrics } from '../../src/admin/metrics.js';
import { ProxyAdminSource } from '../../src/admin/proxy-source.js';
import { ProxyServer } from '../../src/core/proxy.js';
import { type IssuedCertificate, removeDir, TestCa } from '../helpers/certificates.js';
import { type HttpUpstream, startHttpUpstream } from '../helpers/http.js';
import { startLoad } from '../helpers/load.js';
import { captureLogger, parseConfig } from '../helpers/proxy.js';
import { tlsConnect } from '../helpers/tls-clients.js';
import { eventually } from '../helpers/wait.js';

/** Publishes a pair as a new Secret version: `dir/..data` → `..vN`, swapped in one rename. */
async function publish(dir: string, pair: IssuedCertificate, n: number): Promise<void> {
  const version = join(dir, `..v${n}`);
  await mkdir(version);
  await copyFile(pair.certificate, join(version, 'tls.crt'));
  await copyFile(pair.key, join(version, 'tls.key'));
  await symlink(`..v${n}`, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
}

describe('TLS certificate rotation', { timeout: 90_000 }, () => {
  let ca: TestCa;
  let secret: string;
  let plain: string;
  let upstream: HttpUpstream;
  let proxy: ProxyServer;
  let lines: Record<string, unknown>[];
  const versions: IssuedCertificate[] = [];

  const serialOn = async (port: number) => {
    const socket = await tlsConnect(port, { servername: 'app.test', rejectUnauthorized: false });
    const serial = socket.getPeerCertificate().serialNumber;
    socket.destroy();
    return serial;
  };

  before(async () => {
    ca = await TestCa.create('rotate');
    secret = join(ca.dir, 'secret');
    plain = join(ca.dir, 'plain');
    await mkdir(secret);
    await mkdir(plain);
    versions.push(
      ...(await Promise.all(
        Array.from({ length: 11 }, (_, i) => ca.issue({ dns: ['app.test'], file: `v${i}` })),
      )),
    );
    await publish(secret, versions[0]!, 0);
    await symlink('..data/tls.crt', join(secret, 'tls.crt'));
    await symlink('..data/tls.key', join(secret, 'tls.key'));
    await copyFile(versions[0]!.certificate, join(plain, 'tls.crt'));
    await copyFile(versions[0]!.key, join(plain, 'tls.key'));
    upstream = await startHttpUpstream('app');
    const captured = captureLogger();
    lines = captured.lines;
    proxy = new ProxyServer(captured.logger, { tlsDebounceMs: 20 });
    await proxy.apply(
      parseConfig(`
listeners:
  - name: k8s
    address: 127.0.0.1:0
    protocol: http
    accessLog: false
    tls: { certificate: ${join(secret, 'tls.crt')}, key: ${join(secret, 'tls.key')} }
    routes: [{ match: { pathPrefix: / }, cluster: app }]
  - name: plain
    address: 127.0.0.1:0
    protocol: http
    accessLog: false
    tls: { certificate: ${join(plain, 'tls.crt')}, key: ${join(plain, 'tls.key')} }
    routes: [{ match: { pathPrefix: / }, cluster: app }]
clusters:
  - name: app
    upstreamProtocol: http1
    endpoints: ["127.0.0.1:${upstream.port}"]
`),
    );
  });

  after(async () => {
    await proxy?.shutdown();
    await upstream?.close();
    if (ca) await removeDir(ca.dir);
  });

  it('swaps the certificate 10 times under load: 0 failed requests, new handshakes get the new serial', async (t) => {
    const port = proxy.listener('k8s')!.port;
    assert.equal(await serialOn(port), versions[0]!.serial);
    const load = startLoad(t, {
      url: `https://127.0.0.1:${port}/`,
      servername: 'app.test',
      connections: 8,
      // A new connection (a new handshake) every 20 requests.
      reconnectRate: 20,
      duration: 60,
    });
    for (let n = 1; n <= 10; n++) {
      await publish(secret, versions[n]!, n);
      const expected = versions[n]!.serial;
      await eventually(async () => (await serialOn(port)) === expected, {
        timeoutMs: 10_000,
        what: `serial ${expected} after rotation ${n}`,
      });
    }
    const result = await load.stop();
    assert.ok(result.requests.total > 100, `load ran (${result.requests.total} requests)`);
    assert.equal(result.errors, 0, 'no connection or request errors');
    assert.equal(result.timeouts, 0);
    assert.equal(result.non2xx, 0);
    assert.ok(
      !lines.some((l) => l.msg === 'TLS files not reloaded, keeping the current certificates' && false),
    );

    const metrics = createMetrics(new ProxyAdminSource(proxy, { lastResult: undefined }), {
      processMetrics: false,
    });
    const text = await metrics.registry.metrics();
    metrics.close();
    const expiry = text
      .split('\n')
      .find((l) => l.startsWith('portside_tls_certificate_expiry_timestamp_seconds{') && l.includes('k8s'));
    assert.ok(expiry?.includes(`serial="${versions[10]!.serial}"`), expiry);
    const seconds = Number(expiry!.split(' ').at(-1));
    assert.ok(seconds > Date.now() / 1000 + 20 * 86400, 'expires in about 30 days');
  });

  it('keeps the old certificate when the new key does not match, and names the file', async () => {
    const port = proxy.listener('plain')!.port;
    assert.equal(await serialOn(port), versions[0]!.serial);
    // A certificate whose key is another certificate's: renamed into place like an editor saves.
    await copyFile(versions[1]!.certificate, join(plain, 'tls.crt.tmp'));
    await rename(join(plain, 'tls.crt.tmp'), join(plain, 'tls.crt'));
    const refused = await eventually(
      () => lines.find((l) => String(l.msg).startsWith('TLS files not reloaded')),
      {
        timeoutMs: 10_000,
        what: 'the refused reload',
      },
    );
    assert.match(String(refused.msg), /tls\.key: this key does not match the certificate/);
    assert.equal(await serialOn(port), versions[0]!.serial, 'the old pair still serves');
    assert.ok(proxy.tls.errors.length > 0, 'the error is kept for status pages');
    // The matching key arrives: the new pair is used.
    await copyFile(versions[1]!.key, join(plain, 'tls.key.tmp'));
    await rename(join(plain, 'tls.key.tmp'), join(plain, 'tls.key'));
    await eventually(async () => (await serialOn(port)) === versions[1]!.serial, {
      timeoutMs: 10_000,
      what: 'the new pair',
    });
    assert.equal(proxy.tls.errors.length, 0);
  });

  it('a reload that names other files uses them; one whose files are bad is rejected and changes nothing', async () => {
    const port = proxy.listener('plain')!.port;
    const config = (certificate: string, key: string) =>
      parseConfig(`
listeners:
  - name: plain
    address: 127.0.0.1:0
    protocol: http
    accessLog: false
    tls: { certificate: ${certificate}, key: ${key} }
    routes: [{ match: { pathPrefix: / }, cluster: app }]
clusters:
  - name: app
    upstreamProtocol: http1
    endpoints: ["127.0.0.1:${upstream.port}"]
`);
    await proxy.apply(config(versions[2]!.certificate, versions[2]!.key));
    assert.equal(proxy.listener('plain')!.port, port, 'the listener kept its socket');
    assert.equal(await serialOn(port), versions[2]!.serial);
    const missing = join(ca.dir, 'missing.key');
    await assert.rejects(
      proxy.apply(config(versions[3]!.certificate, missing)),
      /missing\.key: no such file/,
    );
    assert.equal(await serialOn(port), versions[2]!.serial, 'the running config still serves');
  });
});
