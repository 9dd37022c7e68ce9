/**
 * Clusters that originate TLS: HTTP/1.1, HTTP/2 and tcp upstreams behind real TLS servers.
 * Each verification failure (unknown CA, expired, wrong name, identity not allowed) is a 502
 * `upstream-tls` with its reason in the log; `verify: false` is warned about once; pooled
 * connections resume their TLS session; a client certificate reaches mTLS upstreams.
 */
import assert from 'node:assert/strict';
import { copyFile, readFile, rename } from 'node:fs/promises';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import { type IssuedCertificate, removeDir, TestCa } from '../helpers/certificates.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { exchange } from '../helpers/tcp.js';
import { eventually } from '../helpers/wait.js';

interface Upstream {
  server: HttpsServer | Http2SecureServer | TlsServer;
  port: number;
  /** Per TLS connection: whether it resumed a session. */
  resumed: boolean[];
  /** Client certificate identities seen (mTLS). */
  clients: string[];
}

async function listen(server: Upstream['server']): Promise<Upstream> {
  const upstream: Upstream = { server, port: 0, resumed: [], clients: [] };
  server.on('secureConnection', (socket: TLSSocket) => {
    upstream.resumed.push(socket.isSessionReused());
    const peer = socket.getPeerCertificate();
    if (peer?.subjectaltname) upstream.clients.push(peer.subjectaltname);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.port = (server.address() as AddressInfo).port;
  return upstream;
}

async function pem(issued: IssuedCertificate): Promise<{ cert: string; key: string }> {
  return { cert: await readFile(issued.certificate, 'utf8'), key: await readFile(issued.key, 'utf8') };
}

describe('cluster TLS origination', { timeout: 60_000 }, () => {
  let ca: TestCa;
  let proxy: TestProxy;
  const upstreams: Upstream[] = [];
  let good: Upstream;
  let closing: Upstream;
  let mtls: Upstream;
  let rotatingCa: string;

  before(async () => {
    ca = await TestCa.create('origin');
    const other = await TestCa.create('other', ca.dir);
    // Starts with the wrong CA; a test renames the right one into place.
    rotatingCa = join(ca.dir, 'rotating-ca.crt');
    await copyFile(other.certificate, rotatingCa);
    const [app, expired, wrongName, foreign, spiffe, client] = await Promise.all([
      ca.issue({ dns: ['app.test'] }),
      ca.issue({ dns: ['app.test'], days: -1, file: 'expired' }),
      ca.issue({ dns: ['other.test'] }),
      other.issue({ dns: ['app.test'], file: 'foreign' }),
      ca.issue({ uris: ['spiffe://mesh.test/ns/b/sa/api'], file: 'spiffe' }),
      ca.issue({ uris: ['spiffe://mesh.test/ns/a/sa/web'], file: 'client' }),
    ]);
    const answer = (name: string) => (req: { url?: string }, res: import('node:http').ServerResponse) => {
      res.setHeader('x-upstream', name);
      res.end(`${name} ${req.url}`);
    };
    const https = async (issued: IssuedCertificate, name: string, extra = {}) =>
      listen(createHttpsServer({ ...(await pem(issued)), ...extra }, answer(name)));
    good = await https(app, 'good');
    // Closes after each response: every request needs a new connection, which should resume.
    closing = await listen(
      createHttpsServer(await pem(app), (req, res) => {
        res.setHeader('connection', 'close');
        answer('closing')(req, res);
      }),
    );
    mtls = await https(app, 'mtls', {
      ca: await readFile(ca.certificate, 'utf8'),
      requestCert: true,
      rejectUnauthorized: true,
    });
    const h2 = await listen(
      createSecureServer({ ...(await pem(app)) }, (req, res) => {
        res.setHeader('x-upstream', 'h2');
        res.end(`h2 ${req.httpVersion} ${req.headers[':scheme']}`);
      }),
    );
    const echo = await listen(
      createTlsServer(await pem(app), (socket) => {
        socket.on('data', (d) => socket.write(`tls:${d}`));
        socket.on('end', () => socket.end());
      }),
    );
    upstreams.push(
      good,
      closing,
      mtls,
      h2,
      echo,
      await https(expired, 'expired'),
      await https(wrongName, 'wrong-name'),
      await https(foreign, 'foreign'),
      await https(spiffe, 'spiffe'),
    );
    const [, , , , , expiredUp, wrongUp, foreignUp, spiffeUp] = upstreams;
    const cluster = (name: string, up: Upstream, tls: string, extra = '') =>
      `  - name: ${name}\n    endpoints: ["127.0.0.1:${up.port}"]\n    upstreamProtocol: http1\n    tls: ${tls}\n${extra}`;
    const trusted = `{ ca: ${ca.certificate}, sni: app.test }`;
    proxy = await startProxy(`
listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    routes:
${[
  'good',
  'closing',
  'mtls',
  'nocert',
  'h2',
  'expired',
  'wrongname',
  'foreign',
  'spiffe',
  'spiffebad',
  'noverify',
  'rotating',
]
  .map((n) => `      - { match: { pathPrefix: /${n}/ }, cluster: ${n} }`)
  .join('\n')}
  - name: tcp
    address: 127.0.0.1:0
    cluster: echo
clusters:
${cluster('good', good, trusted)}
${cluster('closing', closing, trusted)}
${cluster('mtls', mtls, `{ ca: ${ca.certificate}, sni: app.test, certificate: ${client.certificate}, key: ${client.key} }`)}
${cluster('nocert', mtls, trusted)}
  - name: h2
    endpoints: ["127.0.0.1:${h2.port}"]
    upstreamProtocol: http2
    tls: ${trusted}
  - name: echo
    endpoints: ["127.0.0.1:${echo.port}"]
    tls: ${trusted}
${cluster('expired', expiredUp!, trusted)}
${cluster('wrongname', wrongUp!, trusted)}
${cluster('foreign', foreignUp!, trusted)}
${cluster('spiffe', spiffeUp!, `{ ca: ${ca.certificate}, subjectAltNames: ["spiffe://mesh.test/ns/b/sa/api"] }`)}
${cluster('spiffebad', spiffeUp!, `{ ca: ${ca.certificate}, subjectAltNames: ["spiffe://mesh.test/ns/b/sa/other"] }`)}
${cluster('noverify', foreignUp!, '{ verify: false }')}
${cluster('rotating', good, `{ ca: ${rotatingCa}, sni: app.test }`)}
`);
  });

  after(async () => {
    await proxy?.stop();
    for (const u of upstreams) {
      (u.server as { closeAllConnections?: () => void }).closeAllConnections?.();
      u.server.close();
    }
    if (ca) await removeDir(ca.dir);
  });

  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${proxy.port('web')}${path}`);
    return {
      status: response.status,
      error: response.headers.get('x-portside-error'),
      body: await response.text(),
    };
  };

  it('forwards over verified TLS to HTTP/1.1 and HTTP/2 upstreams', async () => {
    assert.deepEqual(await get('/good/a'), { status: 200, error: null, body: 'good /good/a' });
    const h2 = await get('/h2/b');
    assert.equal(h2.status, 200);
    assert.equal(h2.body, 'h2 2.0 https');
  });

  it('answers 502 upstream-tls for each verification failure, with the reason logged', async () => {
    for (const [path, reason] of [
      ['/foreign/', 'unknown CA'],
      ['/expired/', 'certificate expired'],
      ['/wrongname/', 'name mismatch'],
      ['/spiffebad/', 'identity not in subjectAltNames'],
      ['/nocert/', 'tlsv13 alert certificate required'],
    ] as const) {
      const reply = await get(path);
      assert.equal(reply.status, 502, path);
      assert.equal(reply.error, 'upstream-tls', `${path}: ${reply.body}`);
      {
        const line = await eventually(
          () =>
            proxy.lines.find(
              (l) => l.msg === 'upstream TLS handshake failed' && l.cluster === path.slice(1, -1),
            ),
          { what: `${path} ${JSON.stringify(proxy.lines.filter((l) => l.level !== 30).slice(-5))}` },
        );
        assert.equal(line.reason, reason, path);
      }
    }
  });

  it('checks identities against subjectAltNames instead of the host name', async () => {
    assert.equal((await get('/spiffe/x')).status, 200);
  });

  it('presents the client certificate to an mTLS upstream', async () => {
    assert.deepEqual(await get('/mtls/x'), { status: 200, error: null, body: 'mtls /mtls/x' });
    assert.ok(mtls.clients.some((c) => c.includes('spiffe://mesh.test/ns/a/sa/web')));
  });

  it('verify: false connects anyway and is warned about once', async () => {
    assert.equal((await get('/noverify/x')).status, 200);
    const warnings = proxy.lines.filter((l) => String(l.msg).includes('tls.verify is false'));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.cluster, 'noverify');
  });

  it('resumes TLS sessions on new pooled connections', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await get(`/closing/${i}`)).status, 200);
    assert.ok(closing.resumed.length >= 4, `one connection per request (${closing.resumed.length})`);
    assert.equal(closing.resumed[0], false);
    assert.ok(closing.resumed.slice(1).some(Boolean), `later handshakes resume: ${closing.resumed}`);
  });

  it('originates TLS from a tcp listener', async () => {
    assert.equal(String(await exchange(proxy.port('tcp'), 'hello')), 'tls:hello');
  });

  it('picks up a rotated CA file for new connections', async () => {
    assert.equal((await get('/rotating/x')).error, 'upstream-tls', 'the wrong CA is refused');
    await copyFile(ca.certificate, `${rotatingCa}.tmp`);
    await rename(`${rotatingCa}.tmp`, rotatingCa);
    await eventually(async () => (await get('/rotating/x')).status === 200, {
      timeoutMs: 10_000,
      what: 'the rotated CA',
    });
  });
});
