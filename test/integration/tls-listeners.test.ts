/**
 * TLS termination on http and tcp listeners, against real clients: curl (HTTPS, ALPN h2 and
 * http/1.1), openssl s_client (SNI picks the certificate, TLS 1.1 refused) and node:tls
 * (client certificates: missing, from another CA, identity not allowed, the right one).
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { type IssuedCertificate, removeDir, TestCa } from '../helpers/certificates.js';
import { type HttpUpstream, startHttpUpstream } from '../helpers/http.js';
import { parseConfig, startProxy, type TestProxy } from '../helpers/proxy.js';
import { startEchoServer, type TestServer } from '../helpers/servers.js';
import { curlHttps, exchangeOverTls, sClient, tlsConnect } from '../helpers/tls-clients.js';

describe('TLS listeners', { timeout: 60_000 }, () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let main: IssuedCertificate;
  let api: IssuedCertificate;
  let wild: IssuedCertificate;
  let client: IssuedCertificate;
  let stranger: IssuedCertificate;
  let foreign: IssuedCertificate;
  let upstream: HttpUpstream;
  let echo: TestServer;
  let proxy: TestProxy;

  before(async () => {
    ca = await TestCa.create('main');
    otherCa = await TestCa.create('other', ca.dir);
    [main, api, wild, client, stranger, foreign] = await Promise.all([
      ca.issue({ dns: ['main.test'] }),
      ca.issue({ dns: ['api.test'] }),
      ca.issue({ dns: ['*.wild.test'], file: 'wild' }),
      ca.issue({ uris: ['spiffe://mesh.test/ns/web/sa/frontend'], file: 'client' }),
      ca.issue({ uris: ['spiffe://mesh.test/ns/web/sa/intruder'], file: 'stranger' }),
      otherCa.issue({ uris: ['spiffe://mesh.test/ns/web/sa/frontend'], file: 'foreign' }),
    ]);
    upstream = await startHttpUpstream('app');
    echo = await startEchoServer();
    proxy = await startProxy(configText(''));
  });

  /** The test config; `edits` go into the web listener's route (a reload changes them). */
  const configText = (edits: string) => `
listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    tls:
      certificate: ${main.certificate}
      key: ${main.key}
      certificates:
        - { names: [api.test], certificate: ${api.certificate}, key: ${api.key} }
        - { names: ["*.wild.test"], certificate: ${wild.certificate}, key: ${wild.key} }
    routes:
      - match: { pathPrefix: / }
        cluster: app
${edits}
  - name: mtls
    address: 127.0.0.1:0
    protocol: tcp
    cluster: echo
    tls:
      certificate: ${main.certificate}
      key: ${main.key}
      ca: ${ca.certificate}
      clientCertificate: require
      allowedClients: ["spiffe://mesh.test/ns/web/sa/frontend"]
clusters:
  - name: app
    upstreamProtocol: http1
    endpoints: ["127.0.0.1:${upstream.port}"]
  - name: echo
    endpoints: ["127.0.0.1:${echo.port}"]
`;

  after(async () => {
    await proxy?.stop();
    await upstream?.close();
    await echo?.close();
    if (ca) await removeDir(ca.dir);
  });

  it('serves HTTPS to curl over HTTP/1.1 and HTTP/2 (ALPN), with x-forwarded-proto https', async () => {
    const port = proxy.port('web');
    const h1 = await curlHttps('main.test', port, '/one', ['--cacert', ca.certificate, '--http1.1']);
    assert.equal(h1.exitCode, 0, h1.stderr);
    assert.equal(h1.status, 200, h1.body);
    assert.equal(h1.httpVersion, '1.1');
    assert.equal(JSON.parse(h1.body).headers['x-forwarded-proto'], 'https');
    const h2 = await curlHttps('main.test', port, '/two', ['--cacert', ca.certificate, '--http2']);
    assert.equal(h2.exitCode, 0, h2.stderr);
    assert.equal(h2.status, 200, h2.body);
    assert.equal(h2.httpVersion, '2');
    assert.equal(JSON.parse(h2.body).url, '/two');
    assert.equal(JSON.parse(h2.body).headers['x-forwarded-proto'], 'https');
  });

  it('picks the certificate by SNI: exact, wildcard, and the default without a match', async () => {
    const port = proxy.port('web');
    const byName = async (name: string | undefined) => {
      const args = ['-CAfile', ca.certificate, ...(name ? ['-servername', name] : ['-noservername'])];
      const result = await sClient(port, args);
      assert.ok(result.certificate, result.output);
      assert.match(result.output, /Verify return code: 0 \(ok\)/);
      return result.certificate.serialNumber;
    };
    assert.equal(await byName('api.test'), api.serial);
    assert.equal(await byName('API.TEST'), api.serial);
    assert.equal(await byName('x.wild.test'), wild.serial);
    // One label only: a.b.wild.test is not covered by *.wild.test.
    assert.equal(await byName('a.b.wild.test'), main.serial);
    assert.equal(await byName('main.test'), main.serial);
    assert.equal(await byName(undefined), main.serial);
  });

  it('refuses TLS 1.1 by default', async () => {
    const port = proxy.port('web');
    const old = await sClient(port, [
      '-tls1_1',
      '-cipher',
      'DEFAULT:@SECLEVEL=0',
      '-servername',
      'main.test',
    ]);
    assert.notEqual(old.code, 0, old.output);
    assert.equal(old.certificate, undefined, 'no certificate is sent to a TLS 1.1 client');
    assert.match(old.output, /alert protocol version|unsupported protocol|no protocols available/i);
    const current = await sClient(port, ['-tls1_2', '-servername', 'main.test', '-CAfile', ca.certificate]);
    assert.equal(current.code, 0, current.output);
    const errors = Object.fromEntries(proxy.proxy.listener('web')!.stats.tlsErrors);
    assert.ok(
      Object.keys(errors).some((reason) => /PROTOCOL/.test(reason)),
      JSON.stringify(errors),
    );
  });

  it('mTLS: the allowed client passes; no certificate, another CA or another identity is refused', async () => {
    const port = proxy.port('mtls');
    const base = { ca: [await readText(ca.certificate)], servername: 'main.test' };
    const good = await tlsConnect(port, { ...base, ...(await pair(client)) });
    assert.deepEqual(
      await exchangeOverTls(good, 'ping'),
      { data: 'ping' },
      'echoed through the tcp listener',
    );

    for (const [what, options] of [
      ['no certificate', {}],
      ['another CA', await pair(foreign)],
      ['an identity not on the list', await pair(stranger)],
    ] as const) {
      // TLS 1.3: the client's handshake may finish before the server judges its certificate.
      const outcome = await tlsConnect(port, { ...base, ...options }).then(
        (socket) => exchangeOverTls(socket, 'ping'),
        (error: NodeJS.ErrnoException) => ({ data: '', error: error.code ?? error.message }),
      );
      assert.equal(outcome.data, '', `${what}: nothing comes back`);
    }
    assert.ok(
      proxy.lines.some((l) => l.msg === 'TLS client refused' && String(l.reason).includes('not allowed')),
      'the refused identity is logged',
    );
    assert.ok((proxy.proxy.listener('mtls')!.stats.tlsErrors.get('client-refused') ?? 0) >= 1);
  });

  it('a reload keeps TLS keep-alive connections: their next request runs on the new routes', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: await readText(ca.certificate) });
    const get = () =>
      new Promise<{ reused: boolean; seen: Record<string, string> }>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: proxy.port('web'), servername: 'main.test', path: '/ka', agent },
          (res) => {
            let body = '';
            res.on('data', (d) => {
              body += d;
            });
            res.on('end', () => resolve({ reused: req.reusedSocket, seen: JSON.parse(body).headers }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const first = await get();
    assert.equal(first.seen['x-generation'], undefined);
    await proxy.proxy.apply(
      parseConfig(configText('        requestHeaders: { set: { x-generation: "2" } }')),
    );
    const second = await get();
    assert.equal(second.reused, true, 'the same TLS connection');
    assert.equal(second.seen['x-generation'], '2', 'served by the new generation');
    agent.destroy();
  });
});

async function readText(file: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(file, 'utf8');
}

async function pair(issued: IssuedCertificate): Promise<{ cert: string; key: string }> {
  return { cert: await readText(issued.certificate), key: await readText(issued.key) };
}
