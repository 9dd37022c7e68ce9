/**
 * The admin API over HTTPS (`admin.tls`): curl reaches it with the CA, plain HTTP does not,
 * and its certificate's expiry is on /metrics beside the listeners'.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProxyAdminSource } from '../../src/admin/proxy-source.js';
import { AdminServer } from '../../src/admin/server.js';
import { ProxyServer } from '../../src/core/proxy.js';
import { ServerTls } from '../../src/tls/server-tls.js';
import { type IssuedCertificate, removeDir, TestCa } from '../helpers/certificates.js';
import { captureLogger, parseConfig } from '../helpers/proxy.js';
import { curlHttps } from '../helpers/tls-clients.js';

describe('admin API over TLS', { timeout: 30_000 }, () => {
  let ca: TestCa;
  let cert: IssuedCertificate;
  let proxy: ProxyServer;
  let admin: AdminServer;
  let port: number;

  before(async () => {
    ca = await TestCa.create('admin');
    cert = await ca.issue({ dns: ['localhost'] });
    const config = parseConfig(`
admin:
  address: 127.0.0.1:0
  tls: { certificate: ${cert.certificate}, key: ${cert.key} }
`);
    proxy = new ProxyServer(captureLogger().logger);
    await proxy.apply(config);
    const tls = await ServerTls.load(config.admin!.tls!);
    proxy.tls.keep('admin', tls);
    admin = new AdminServer({
      address: '127.0.0.1:0',
      source: new ProxyAdminSource(proxy, { lastResult: undefined }),
      processMetrics: false,
      tls,
    });
    port = Number((await admin.start()).split(':').pop());
  });

  after(async () => {
    await admin?.close();
    await proxy?.shutdown();
    if (ca) await removeDir(ca.dir);
  });

  it('answers HTTPS with its certificate, and refuses plain HTTP', async () => {
    const health = await curlHttps('localhost', port, '/healthz', ['--cacert', ca.certificate]);
    assert.equal(health.exitCode, 0, health.stderr);
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.body).status, 'ok');
    const plain = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.status,
      () => 'refused',
    );
    assert.notEqual(plain, 200);
  });

  it('reports its certificate on /metrics', async () => {
    const metrics = await curlHttps('localhost', port, '/metrics', ['--cacert', ca.certificate]);
    assert.equal(metrics.status, 200, metrics.stderr);
    assert.match(
      metrics.body,
      new RegExp(
        `portside_tls_certificate_expiry_timestamp_seconds\\{owner="admin",file="[^"]+",serial="${cert.serial}"\\} \\d+`,
      ),
    );
  });
});
