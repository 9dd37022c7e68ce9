/**
 * Upgrades go through the normal exchange and become a tunnel only after a parsed `101`
 * (issue 14, defect 1): a refused upgrade must not turn the client connection into a raw
 * pipe that delivers the client's next bytes to the upstream unrouted and unedited.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startTcpServer, type TestServer } from '../helpers/servers.js';
import { openConnection, readUntil } from '../helpers/tcp.js';
import { eventually } from '../helpers/wait.js';

/**
 * A keep-alive HTTP/1.1 upstream that records every request head it receives and answers
 * each with 200; `switching` (a path) gets a 101 instead, then its connection echoes bytes.
 */
async function recordingUpstream(switching?: string): Promise<TestServer & { heads: string[] }> {
  const heads: string[] = [];
  const server = await startTcpServer((socket: Socket) => {
    let buffered = '';
    let tunnel = false;
    socket.on('data', (chunk: Buffer) => {
      if (tunnel) {
        socket.write(chunk);
        return;
      }
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0 && !tunnel; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        heads.push(head);
        if (switching !== undefined && head.startsWith(`GET ${switching} `)) {
          tunnel = true;
          socket.write(
            'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\nhello',
          );
          if (buffered.length > 0) socket.write(buffered);
        } else socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
    });
  });
  return Object.assign(server, { heads });
}

const count = (text: string, part: string) => text.split(part).length - 1;

describe('L7 upgrades tunnel only after a parsed 101', { timeout: 60_000 }, () => {
  let plain: Awaited<ReturnType<typeof recordingUpstream>>;
  let switching: Awaited<ReturnType<typeof recordingUpstream>>;
  let proxy: TestProxy;

  before(async () => {
    plain = await recordingUpstream();
    switching = await recordingUpstream('/switch/ws');
    proxy = await startProxy(`
listeners:
  - name: web
    address: 127.0.0.1:0
    protocol: http
    limits: { tunnelIdleTimeout: 300ms }
    routes:
      - match: { pathPrefix: /public }
        cluster: plain
        requestHeaders: { remove: [cookie] }
      - { match: { pathPrefix: /switch }, cluster: switching }
clusters:
  - { name: plain, endpoints: [127.0.0.1:${plain.port}] }
  - { name: switching, endpoints: [127.0.0.1:${switching.port}] }
`);
  });
  after(async () => {
    await proxy?.stop();
    await plain?.close();
    await switching?.close();
  });

  for (const protocol of ['websocket', 'h2c', 'foo']) {
    it(`routes and edits the request pipelined after a refused Upgrade: ${protocol}`, async () => {
      plain.heads.length = 0;
      const socket = await openConnection(proxy.port('web'));
      const replies = readUntil(socket, (text) => count(text, 'HTTP/1.1 ') >= 3 && text.endsWith('ok'));
      socket.write(
        `GET /public/ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n\r\n` +
          'GET /admin/secret HTTP/1.1\r\nHost: h\r\nCookie: session=victim\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n' +
          'GET /public/next HTTP/1.1\r\nHost: h\r\nCookie: session=victim\r\n\r\n',
      );
      const text = await replies;
      socket.destroy();
      // The upstream's ordinary answer, then Portside's own 404 for the unrouted request, then the third.
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
      assert.deepEqual(statuses, ['200', '404', '200'], text);
      assert.match(text, /x-portside-error: no-route/);
      assert.equal(plain.heads.length, 2, plain.heads.join('\n---\n'));
      assert.match(plain.heads[0]!, /^GET \/public\/ws HTTP\/1\.1\r\n/);
      if (protocol === 'h2c') {
        // HTTP/2 comes with prior knowledge: Upgrade: h2c is dropped and the request served as HTTP/1.1.
        assert.doesNotMatch(plain.heads[0]!, /\r\nupgrade: /i, 'h2c is not forwarded as an upgrade');
      } else
        assert.match(plain.heads[0]!, /\r\nupgrade: /i, 'the upgrade request itself is forwarded as one');
      assert.match(plain.heads[1]!, /^GET \/public\/next HTTP\/1\.1\r\n/);
      for (const head of plain.heads) {
        assert.doesNotMatch(head, /admin/);
        assert.doesNotMatch(head, /session=victim/i, 'the route removed the cookie');
        assert.match(head, /\r\nx-forwarded-for: [^\r]*127\.0\.0\.1/i);
      }
    });
  }

  it('tunnels after a 101: early bytes both ways, then echo', async () => {
    const socket = await openConnection(proxy.port('web'));
    const first = readUntil(socket, (text) => text.includes('hello') && text.includes('early'));
    socket.write('GET /switch/ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\nearly');
    const text = await first;
    assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(text, /\r\nconnection: upgrade\r\nupgrade: foo\r\n\r\nhello/);
    const echoed = readUntil(socket, (t) => t.includes('GET /not-routed'));
    // After the switch, bytes are the new protocol's: an HTTP-looking line is data, not a request.
    socket.write('GET /not-routed HTTP/1.1\r\n\r\n');
    assert.match(await echoed, /GET \/not-routed/);
    assert.equal(switching.heads.length, 1, 'only the upgrade request was parsed by the upstream');
    socket.destroy();
  });

  it('closes a tunnel idle for limits.tunnelIdleTimeout', async () => {
    const socket = await openConnection(proxy.port('web'));
    let closed = false;
    // With allowHalfOpen, the proxy closing shows as 'end'.
    socket.on('end', () => {
      closed = true;
    });
    socket.on('error', () => {});
    const opened = readUntil(socket, (text) => text.includes('hello'));
    socket.write('GET /switch/ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n');
    assert.match(await opened, /101/);
    await eventually(() => closed, { timeoutMs: 20_000, what: 'the idle tunnel to close' });
  });
});
