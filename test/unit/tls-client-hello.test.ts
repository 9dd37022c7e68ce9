/**
 * The ClientHello reader against real hellos from node:tls (OpenSSL), fed whole, byte by
 * byte, and re-framed across two TLS records; plus input that is not TLS.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { connect } from 'node:tls';
import { readClientHello } from '../../src/tls/client-hello.js';
import { ServerNameTable } from '../../src/tls/server-names.js';

/** The first bytes node:tls sends for `servername` (or none). */
async function captureHello(servername: string | undefined): Promise<Buffer> {
  let client: ReturnType<typeof connect> | undefined;
  const bytes = await new Promise<Buffer>((resolve) => {
    const server = createServer((socket: Socket) => {
      let got = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) {
          resolve(got);
          socket.destroy();
          server.close();
        }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      client = connect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}) });
      client.on('error', () => {});
    });
  });
  client?.destroy();
  return bytes;
}

describe('readClientHello', () => {
  it('finds the server name in a real ClientHello, and none when none was sent', async () => {
    assert.deepEqual(readClientHello(await captureHello('API.Example.test')), {
      kind: 'hello',
      serverName: 'api.example.test',
    });
    assert.deepEqual(readClientHello(await captureHello(undefined)), {
      kind: 'hello',
      serverName: undefined,
    });
  });

  it('asks for more bytes until the hello is complete', async () => {
    const hello = await captureHello('a.test');
    for (let n = 0; n < hello.length; n++) {
      assert.equal(readClientHello(hello.subarray(0, n)).kind, 'incomplete', `${n} bytes`);
    }
    assert.equal(readClientHello(hello).kind, 'hello');
  });

  it('reads a hello split across two TLS records', async () => {
    const hello = await captureHello('split.test');
    const message = hello.subarray(5);
    const record = (part: Buffer) =>
      Buffer.concat([Buffer.from([0x16, 0x03, 0x01, part.length >> 8, part.length & 0xff]), part]);
    const split = Buffer.concat([record(message.subarray(0, 40)), record(message.subarray(40))]);
    assert.deepEqual(readClientHello(split), { kind: 'hello', serverName: 'split.test' });
    assert.equal(readClientHello(split.subarray(0, 50)).kind, 'incomplete');
  });

  it('refuses what is not a TLS ClientHello', () => {
    assert.equal(readClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')).kind, 'invalid');
    assert.equal(readClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0, 0, 0])).kind, 'invalid');
  });
});

describe('ServerNameTable', () => {
  it('prefers exact names, and *. covers exactly one label', () => {
    const table = new ServerNameTable<string>();
    table.add('*.example.test', 'wild');
    table.add('api.example.test', 'exact');
    table.add('API.example.test', 'ignored: the first entry keeps a name');
    assert.equal(table.find('api.example.test'), 'exact');
    assert.equal(table.find('Web.Example.Test'), 'wild');
    assert.equal(table.find('a.b.example.test'), undefined);
    assert.equal(table.find('example.test'), undefined);
    assert.equal(table.find(undefined), undefined);
  });
});
