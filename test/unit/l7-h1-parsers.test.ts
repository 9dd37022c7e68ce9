import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BODY_ERROR, BODY_MORE, LengthFramer } from '../../src/l7/h1/body-framer.js';
import { ChunkedScanner } from '../../src/l7/h1/chunked.js';
import { RequestHead } from '../../src/l7/h1/request-head.js';
import { BodyKind, ResponseHead } from '../../src/l7/h1/response-head.js';

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 });
/** Field values as a parser must keep them: visible chars and inner spaces, no outer whitespace. */
const fieldValue = fc
  .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 30 })
  .map((v) => v.trim());
const target = fc
  .string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 30 })
  .map((p) => `/${p}`);
/** Names the parser treats specially are left out of generated fields (tested on their own). */
const SPECIAL = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'x-request-id']);
const field = fc.tuple(token, fieldValue).filter(([name]) => !SPECIAL.has(name.toLowerCase()));

function parseRequest(text: string): RequestHead | string {
  const head = new RequestHead();
  const error = head.parse(text);
  return error ?? head;
}

function request(fields: string): string {
  return `POST / HTTP/1.1\r\nHost: x\r\n${fields}`;
}

describe('L7 HTTP/1.1 request heads', () => {
  it('never throws on garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = `${Buffer.from(bytes).toString('latin1')}\r\n`;
        const result = parseRequest(text);
        assert.ok(typeof result === 'string' || result instanceof RequestHead);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips valid heads: method, target and every field (names lower-cased)', () => {
    fc.assert(
      fc.property(token, target, fc.array(field, { maxLength: 12 }), (method, path, fields) => {
        let text = `${method} ${path} HTTP/1.1\r\nHost: example.test\r\n`;
        for (const [name, value] of fields) text += `${name}:${value === '' ? '' : ' '}${value}  \r\n`;
        const head = parseRequest(text);
        assert.ok(head instanceof RequestHead, String(head));
        assert.equal(head.method, method);
        assert.equal(head.target, path);
        assert.equal(head.host, 'example.test');
        assert.deepEqual(head.fields, [
          'host',
          'example.test',
          ...fields.flatMap(([n, v]) => [n.toLowerCase(), v]),
        ]);
        assert.equal(head.fieldCount, fields.length + 1);
      }),
      { numRuns: 500 },
    );
  });

  it('reads framing, keep-alive and the fields routing needs', () => {
    const head = parseRequest(
      'GET /a?b HTTP/1.0\r\nHost: h\r\nConnection: Keep-Alive, X-Hop\r\nX-Forwarded-For: 1.1.1.1\r\n' +
        'x-forwarded-for: 2.2.2.2\r\nContent-Length: 5, 5\r\nX-Request-Id: id-1\r\nCookie: a=b\r\n',
    );
    assert.ok(head instanceof RequestHead, String(head));
    assert.equal(head.http11, false);
    assert.equal(head.keepAlive, true);
    assert.deepEqual(head.connectionNames, ['x-hop']);
    assert.equal(head.forwardedFor, '1.1.1.1, 2.2.2.2');
    assert.equal(head.contentLength, 5);
    assert.equal(head.requestId, 'id-1');
    assert.equal(head.headers.cookie, 'a=b');
    assert.equal(head.headers['x-forwarded-for'], '1.1.1.1, 2.2.2.2');
    const chunked = parseRequest(request('Transfer-Encoding: Chunked\r\nConnection: close\r\n'));
    assert.ok(chunked instanceof RequestHead);
    assert.equal(chunked.chunked, true);
    assert.equal(chunked.hasBody, true);
    assert.equal(chunked.keepAlive, false);
  });

  it('refuses every smuggling and ambiguity form', () => {
    const refused = [
      request('Content-Length: 4\r\nTransfer-Encoding: chunked\r\n'),
      request('Transfer-Encoding: chunked\r\nContent-Length: 4\r\n'),
      request('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n'),
      request('Transfer-Encoding: gzip, chunked\r\n'),
      request('Transfer-Encoding: chunked, identity\r\n'),
      request('Transfer-Encoding : chunked\r\n'),
      request(' Transfer-Encoding: chunked\r\n'),
      request('X-A: 1\r\n Transfer-Encoding: chunked\r\n'),
      request('X-A: 1\r\n\tfolded\r\n'),
      request('Content-Length: 4\r\nContent-Length: 5\r\n'),
      request('Content-Length: 4, 5\r\n'),
      request('Content-Length: +4\r\n'),
      request('Content-Length: 0x10\r\n'),
      request('Content-Length: -1\r\n'),
      request('Content-Length: 1 2\r\n'),
      request('Content-Length: 1234567890123456\r\n'),
      request('X-A: a\rb\r\n'),
      request('X-A: a\nb\r\n'),
      request('X-A: a\0b\r\n'),
      request('X A: b\r\n'),
      request(': no name\r\n'),
      request('no colon\r\n'),
      request('Host: second\r\n'),
      'GET / HTTP/1.1\r\nX-A: 1\r\n',
      'GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n',
      'GET  / HTTP/1.1\r\nHost: x\r\n',
      'GET / HTTP/1.1 \r\nHost: x\r\n',
      'GET / http/1.1\r\nHost: x\r\n',
      'GET / HTTP/2.0\r\nHost: x\r\n',
      'GET /a b HTTP/1.1\r\nHost: x\r\n',
      'G(T / HTTP/1.1\r\nHost: x\r\n',
      'GET\t/ HTTP/1.1\r\nHost: x\r\n',
    ];
    for (const text of refused) assert.equal(typeof parseRequest(text), 'string', JSON.stringify(text));
  });

  it('refuses an HTTP/1.1 request without exactly one valid Host (RFC 9112 §3.2)', () => {
    for (const host of [
      '',
      ' ',
      'a/b',
      'a b',
      'a@b',
      'a:80x',
      ':80',
      '[::1',
      '[]',
      'a:123456',
      'ex\u00e4mple',
    ]) {
      const text = `GET / HTTP/1.1\r\nHost: ${host}\r\n`;
      assert.equal(typeof parseRequest(text), 'string', JSON.stringify(text));
    }
    assert.equal(typeof parseRequest('GET / HTTP/1.0\r\nHost: a/b\r\n'), 'string');
    for (const host of [
      'h',
      'api.example.com',
      '127.0.0.1:8080',
      '[::1]',
      '[::1]:80',
      'my_host.local.',
      'a:0',
    ]) {
      const head = parseRequest(`GET / HTTP/1.1\r\nHost: ${host}\r\n`);
      assert.ok(head instanceof RequestHead, `${host}: ${String(head)}`);
      assert.equal(head.host, host);
    }
    // HTTP/1.0 needs no Host: an empty one is the same as none.
    const old = parseRequest('GET / HTTP/1.0\r\nHost:\r\n');
    assert.ok(old instanceof RequestHead, String(old));
    assert.equal(old.host, undefined);
  });

  it('accepts leading zeros in content-length, as llhttp, nginx and HAProxy do', () => {
    for (const [value, length] of [
      ['005', 5],
      ['00', 0],
      [`${'0'.repeat(20)}7`, 7],
      ['0123456789012345', 123456789012345],
      ['007, 7', 7],
    ] as const) {
      const head = parseRequest(request(`Content-Length: ${value}\r\n`));
      assert.ok(head instanceof RequestHead, `${value}: ${String(head)}`);
      assert.equal(head.contentLength, length);
    }
    assert.equal(typeof parseRequest(request('Content-Length: 01234567890123456\r\n')), 'string');
  });

  it('lower-cases common names (recognised on their bytes) exactly like any other name', () => {
    const common = ['Accept', 'User-Agent', 'X-Forwarded-For', 'Cookie', 'Cache-Control', 'TE', 'X-Real-IP'];
    // Each common name in random case, or with one character swapped for another token character.
    const name = fc
      .tuple(
        fc.constantFrom(...common),
        fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
        fc.nat(),
        fc.option(fc.constantFrom(...TCHARS)),
      )
      .map(([n, upper, at, swap]) => {
        let out = [...n].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join('');
        if (swap !== null) out = out.slice(0, at % out.length) + swap + out.slice((at % out.length) + 1);
        return out;
      });
    fc.assert(
      fc.property(name, fieldValue, (n, v) => {
        const head = parseRequest(`GET / HTTP/1.1\r\nHost: h\r\n${n}: ${v}\r\n`);
        assert.ok(head instanceof RequestHead, String(head));
        assert.deepEqual(head.fields, ['host', 'h', n.toLowerCase(), v]);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('L7 HTTP/1.1 response heads', () => {
  const parse = (text: string) => {
    const head = new ResponseHead();
    return head.parse(text) ?? head;
  };

  it('never throws on garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const result = parse(`HTTP/1.1 ${Buffer.from(bytes).toString('latin1')}\r\n`);
        assert.ok(typeof result === 'string' || result instanceof ResponseHead);
      }),
      { numRuns: 2000 },
    );
  });

  it('frames bodies as RFC 9112 §6.3 says', () => {
    const kind = (text: string, method = 'GET') => {
      const head = parse(text);
      assert.ok(head instanceof ResponseHead, String(head));
      return head.bodyKind(method);
    };
    assert.equal(kind('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n'), BodyKind.length);
    assert.equal(kind('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n'), BodyKind.none);
    assert.equal(kind('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n'), BodyKind.chunked);
    assert.equal(kind('HTTP/1.1 200 OK\r\n'), BodyKind.close);
    assert.equal(kind('HTTP/1.1 200\r\nContent-Length: 3\r\n', 'HEAD'), BodyKind.none);
    assert.equal(kind('HTTP/1.1 204 No Content\r\n'), BodyKind.none);
    assert.equal(kind('HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n'), BodyKind.none);
    const head = parse('HTTP/1.0 200 OK\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive\r\n');
    assert.ok(head instanceof ResponseHead);
    assert.equal(head.keepAlive, true);
    assert.equal(head.keepAliveTimeout, 5);
    assert.equal(head.reason, 'OK');
  });

  it('refuses ambiguous framing and malformed status lines', () => {
    for (const text of [
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n',
      'HTTP/1.1 20 OK\r\n',
      'HTTP/1.1 2000 OK\r\n',
      'HTTP/1.1 099 Low\r\n',
      'HTTP/3.0 200 OK\r\n',
      'HTTP/1.1 200 O\rK\r\n',
      'HTTP/1.1 200 OK\r\nX: 1\r\n folded\r\n',
    ]) {
      assert.equal(typeof parse(text), 'string', JSON.stringify(text));
    }
  });
});

/** Encodes `parts` as a chunked body, with optional extensions and trailers. */
function chunked(parts: Buffer[], extension: string, trailers: string): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    if (part.length === 0) continue;
    pieces.push(Buffer.from(`${part.length.toString(16)}${extension}\r\n`), part, Buffer.from('\r\n'));
  }
  pieces.push(Buffer.from(`0${extension}\r\n${trailers}\r\n`));
  return Buffer.concat(pieces);
}

describe('L7 content-length bodies', () => {
  it('ends after exactly content-length bytes however they are split', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.array(fc.integer({ min: 1, max: 700 })),
        (length, sizes) => {
          const framer = new LengthFramer().reset(length);
          let seen = 0;
          for (const size of [...sizes, length]) {
            const buf = Buffer.alloc(size + 3);
            const stop = framer.scan(buf, 3, buf.length);
            if (stop !== BODY_MORE) {
              assert.equal(seen + (stop - 3), length);
              return;
            }
            seen += size;
          }
          assert.fail('the body never ended');
        },
      ),
    );
  });
});

describe('L7 chunked bodies', () => {
  it('finds the end of a chunked body however it is split, and decodes it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        fc.constantFrom('', ';ext=1', ';a;b="c d"'),
        fc.constantFrom('', 'X-Trailer: 1\r\n', 'A: b\r\nC: d\r\n'),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.uint8Array({ maxLength: 20 }),
        (raw, extension, trailers, cuts, after) => {
          const parts = raw.map((p) => Buffer.from(p));
          const body = chunked(parts, extension, trailers);
          const wire = Buffer.concat([body, Buffer.from(after)]);
          const decoded: Buffer[] = [];
          const scanner = new ChunkedScanner({
            chunkData: (b, s, e) => decoded.push(Buffer.from(b.subarray(s, e))),
          });
          const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
          let from = 0;
          let end = BODY_MORE;
          for (const to of [...points, wire.length]) {
            if (to < from) continue;
            const piece = wire.subarray(from, to);
            const stop = scanner.scan(piece, 0, piece.length);
            if (stop !== BODY_MORE) {
              end = from + stop;
              break;
            }
            from = to;
          }
          assert.equal(end, body.length);
          assert.ok(scanner.done);
          assert.deepEqual(Buffer.concat(decoded), Buffer.concat(parts));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never throws on garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const result = new ChunkedScanner().scan(Buffer.from(bytes), 0, bytes.length);
        assert.ok(result >= BODY_ERROR && result <= bytes.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses malformed framing', () => {
    for (const text of [
      ' 5\r\nhello\r\n0\r\n\r\n',
      '5 \r\nhello\r\n0\r\n\r\n',
      '0x5\r\nhello\r\n0\r\n\r\n',
      '5\nhello\r\n0\r\n\r\n',
      '5\r\nhelloX\r\n0\r\n\r\n',
      '5\r\nhello\n0\r\n\r\n',
      '-5\r\nhello\r\n0\r\n\r\n',
      'fffffffffffffff\r\n',
      '5;a\0b\r\nhello\r\n0\r\n\r\n',
      '0\r\n folded: trailer\r\n\r\n',
      '0\r\n\n',
      '+5\r\nhello\r\n0\r\n\r\n',
      '0 5\r\nhello\r\n0\r\n\r\n',
      '0000fffffffffffff\r\n',
      // Trailer lines are field lines: a name, a colon, a value.
      '0\r\nno colon\r\n\r\n',
      '0\r\n: no name\r\n\r\n',
      '0\r\nX A: space in name\r\n\r\n',
      '0\r\nX-A : space before colon\r\n\r\n',
      '0\r\nX-A: nul\0\r\n\r\n',
      '0\r\nX-A: 1\r\n\tfolded\r\n\r\n',
    ]) {
      const buf = Buffer.from(text, 'latin1');
      assert.equal(new ChunkedScanner().scan(buf, 0, buf.length), BODY_ERROR, JSON.stringify(text));
    }
  });

  it('accepts leading zeros in chunk sizes and well-formed trailers', () => {
    for (const text of [
      '000a\r\n0123456789\r\n0\r\n\r\n',
      `${'0'.repeat(20)}5\r\nhello\r\n000\r\n\r\n`,
      '5\r\nhello\r\n0\r\nX-A: 1\r\nX-B:\r\nX-C:  a b \r\n\r\n',
    ]) {
      const buf = Buffer.from(text, 'latin1');
      assert.equal(new ChunkedScanner().scan(buf, 0, buf.length), buf.length, JSON.stringify(text));
    }
  });
});
