/**
 * `protocol: tls`: one port in front of two TLS backends, chosen by the ClientHello's server
 * name, bytes never decrypted: the client verifies each backend's own certificate (which
 * Portside does not have) and talks to it end to end.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createServer, type Server } from 'node:tls';
import { type IssuedCertificate, removeDir, TestCa } from '../helpers/certificates.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { openConnection, readUntil } from '../helpers/tcp.js';
import { exchangeOverTls, sClient, tlsConnect } from '../helpers/tls-clients.js';

describe('TLS passthrough by SNI', { timeout: 60_000 }, () => {
  let ca: TestCa;
  let caPem: string;
  const certs: Record<string, IssuedCertificate> = {};
  const backends: Server[] = [];
  let proxy: TestProxy;

  const backend = async (name: string, issued: IssuedCertificate) => {
    const server = createServer(
      { cert: await readFile(issued.certificate, 'utf8'), key: await readFile(issued.key, 'utf8') },
      (socket) => {
        socket.on('data', (d) => socket.write(`${name}:${d}`));
        socket.on('end', () => socket.end());
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    backends.push(server);
    return (server.address() as AddressInfo).port;
  };

  before(async () => {
    ca = await TestCa.create('pass');
    caPem = await readFile(ca.certificate, 'utf8');
    certs.a = await ca.issue({ dns: ['a.test'] });
    certs.b = await ca.issue({ dns: ['b.test', '*.b.test'] });
    certs.def = await ca.issue({ dns: ['default.test'] });
    const [a, b, def] = [
      await backend('A', certs.a),
      await backend('B', certs.b),
      await backend('D', certs.def),
    ];
    proxy = await startProxy(`
listeners:
  - name: front
    address: 127.0.0.1:0
    protocol: tls
    routes:
      - { sni: [a.test], cluster: a }
      - { sni: [b.test, "*.b.test"], cluster: b }
  - name: with-default
    address: 127.0.0.1:0
    protocol: tls
    routes: [{ sni: [a.test], cluster: a }]
    defaultCluster: def
clusters:
  - { name: a, endpoints: ["127.0.0.1:${a}"] }
  - { name: b, endpoints: ["127.0.0.1:${b}"] }
  - { name: def, endpoints: ["127.0.0.1:${def}"] }
`);
  });

  after(async () => {
    await proxy?.stop();
    for (const b of backends) b.close();
    if (ca) await removeDir(ca.dir);
  });

  it('routes by server name to the backend, whose own certificate reaches the client', async () => {
    const port = proxy.port('front');
    for (const [name, backendName, cert] of [
      ['a.test', 'A', certs.a],
      ['b.test', 'B', certs.b],
      ['x.b.test', 'B', certs.b],
    ] as const) {
      const socket = await tlsConnect(port, { servername: name, ca: [caPem] });
      assert.equal(socket.getPeerCertificate().serialNumber, cert!.serial, name);
      assert.deepEqual(await exchangeOverTls(socket, 'hi'), { data: `${backendName}:hi` }, name);
    }
    const viaOpenssl = await sClient(port, ['-servername', 'b.test', '-CAfile', ca.certificate]);
    assert.equal(viaOpenssl.code, 0, viaOpenssl.output);
    assert.equal(viaOpenssl.certificate?.serialNumber, certs.b!.serial);
  });

  it('refuses an unknown name with an unrecognized_name alert, and routes it to defaultCluster when set', async () => {
    const refused = await tlsConnect(proxy.port('front'), { servername: 'c.test', ca: [caPem] }).then(
      () => 'connected',
      (error: Error) => error.message,
    );
    assert.match(refused, /unrecognized name/);
    assert.ok(
      proxy.lines.some(
        (l) => l.msg === 'tls passthrough connection refused' && /c\.test/.test(String(l.reason)),
      ),
    );

    const other = await tlsConnect(proxy.port('with-default'), { servername: 'default.test', ca: [caPem] });
    assert.deepEqual(await exchangeOverTls(other, 'x'), { data: 'D:x' });
    const noName = await sClient(proxy.port('with-default'), ['-noservername', '-CAfile', ca.certificate]);
    assert.equal(noName.certificate?.serialNumber, certs.def!.serial, 'no SNI: the default cluster');
  });

  it('closes a connection that is not TLS', async () => {
    const socket = await openConnection(proxy.port('front'));
    socket.on('error', () => {});
    socket.write('GET / HTTP/1.1\r\nhost: a.test\r\n\r\n');
    assert.equal(await readUntil(socket, () => false), '', 'closed without an answer');
  });
});
