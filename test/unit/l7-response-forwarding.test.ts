import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ResponseHeadReader } from '../../src/l7/h1/response-head.js';
import { ResponseWriter } from '../../src/l7/h1/response-writer.js';
import { HeaderEdits } from '../../src/l7/headers.js';

/** A socket that only collects what is written (every write completes at once). */
class Collector {
  readonly chunks: Buffer[] = [];
  writableLength = 0;
  write(data: Buffer | string): boolean {
    this.chunks.push(typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data));
    return true;
  }
  cork(): void {}
  uncork(): void {}
  get text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
}

/** What the client gets for `upstream` (a head and its body in one read, as a GET answer). */
function forward(
  upstream: string,
  options: { edits?: HeaderEdits; http11?: boolean; close?: boolean; reuse?: ResponseWriter } = {},
): string {
  const socket = new Collector();
  const writer = new ResponseWriter(socket as unknown as Socket);
  const read = Buffer.from(upstream, 'latin1');
  const reader = new ResponseHeadReader();
  const head = reader.read(read, read.length);
  assert.ok(head !== undefined, String(reader.error));
  const kind = head.bodyKind('GET');
  writer.start(head, options.edits ?? HeaderEdits.NONE, kind, options.http11 ?? true, options.close ?? false);
  // The read buffer is reused by the next read: the prepared head must not depend on it.
  const body = Buffer.from(read.subarray(reader.bodyStart));
  read.fill(0x21);
  writer.body(body, 0, body.length);
  writer.end();
  return socket.text;
}

describe('L7 response heads forwarded to the client', () => {
  it('copies kept lines as sent and writes its own framing and connection lines', () => {
    const out = forward(
      'HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\nConnection: keep-alive, X-Hop\r\n' +
        'Keep-Alive: timeout=5\r\nX-Hop: secret\r\nContent-Type:  text/plain \r\nSet-Cookie: a=1\r\n' +
        'Set-Cookie: b=2\r\n\r\nhello',
    );
    assert.equal(
      out,
      'HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type:  text/plain \r\nSet-Cookie: a=1\r\n' +
        'Set-Cookie: b=2\r\ncontent-length: 5\r\n\r\nhello',
    );
  });

  it('applies the route edits and answers HTTP/1.0 clients and closing connections', () => {
    const edits = new HeaderEdits({
      set: { 'x-served-by': 'portside', server: 'p' },
      remove: ['x-internal'],
    });
    const upstream =
      'HTTP/1.0 404 Not Found\r\nServer: nginx\r\nX-Internal: 1\r\nContent-Length: 2\r\n\r\nno';
    assert.equal(
      forward(upstream, { edits, http11: false }),
      'HTTP/1.1 404 Not Found\r\nx-served-by: portside\r\nserver: p\r\ncontent-length: 2\r\n' +
        'connection: keep-alive\r\n\r\nno',
    );
    assert.equal(
      forward(upstream, { edits, close: true }),
      'HTTP/1.1 404 Not Found\r\nx-served-by: portside\r\nserver: p\r\ncontent-length: 2\r\n' +
        'connection: close\r\n\r\nno',
    );
  });

  it('keeps the space before an absent reason phrase', () => {
    assert.equal(forward('HTTP/1.1 204\r\nX-A: 1\r\n\r\n'), 'HTTP/1.1 204 \r\nX-A: 1\r\n\r\n');
  });

  it('re-chunks close-delimited bodies and forwards chunked ones untouched', () => {
    assert.equal(
      forward('HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nabc'),
      'HTTP/1.1 200 OK\r\nX-A: 1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    );
    assert.equal(
      forward('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'),
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    );
  });

  it('forwards every kept field of any head as the upstream sent it', () => {
    const tchar = fc.constantFrom(
      ..."!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    );
    const name = fc
      .string({ unit: tchar, minLength: 1, maxLength: 10 })
      .filter(
        (n) => !/^(content-length|transfer-encoding|connection|keep-alive|te|trailer|upgrade)$/i.test(n),
      );
    const value = fc.string({ unit: fc.constantFrom('a', 'B', ' ', '\t', '/', '\xe9'), maxLength: 12 });
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 8 }), (fields) => {
        const lines = fields.map(([n, v]) => `${n}:${v}\r\n`).join('');
        const kept = fields
          .filter(([n]) => !/^(proxy-connection|http2-settings)$/i.test(n))
          .map(([n, v]) => `${n}:${v}\r\n`)
          .join('');
        const out = forward(`HTTP/1.1 200 OK\r\n${lines}Content-Length: 1\r\n\r\nx`);
        assert.equal(out, `HTTP/1.1 200 OK\r\n${kept}content-length: 1\r\n\r\nx`);
      }),
      { numRuns: 300 },
    );
  });

  it('writes a head without a body at the end of the response', () => {
    const head = 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 9\r\n\r\n';
    assert.equal(forward(head), 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\ncontent-length: 9\r\n\r\n');
  });

  it('never rewrites a head buffer that a queued write still holds', () => {
    // Keeps the written buffers themselves, and reports every write as still queued.
    const held: Buffer[] = [];
    const socket = {
      writableLength: 1,
      write: (data: Buffer) => held.push(data) > 0,
      cork() {},
      uncork() {},
    };
    const writer = new ResponseWriter(socket as unknown as Socket);
    for (const body of ['first', 'second']) {
      const read = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1');
      const reader = new ResponseHeadReader();
      const head = reader.read(read, read.length)!;
      writer.reset();
      writer.start(head, HeaderEdits.NONE, head.bodyKind('GET'), true, false);
      writer.body(reader.buffer, reader.bodyStart, reader.limit);
      writer.end();
    }
    assert.deepEqual(
      held.map((b) => b.toString('latin1')),
      [
        'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst',
        'HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecond',
      ],
    );
  });
});
