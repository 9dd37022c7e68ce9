/**
 * A request head that arrives in many small reads is searched once, not from its start on
 * every read (which is quadratic: a 16 KiB head sent byte by byte rescanned ~128 MiB).
 * Counted, not timed: every search the reader makes goes through Buffer#indexOf, whose
 * scanned span is summed here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeadReader } from '../../src/l7/h1/head-reader.js';

/** Feeds `head` to a reader `step` bytes at a time, as the client connection does (it keeps the bytes from `start`). */
function feed(head: Buffer, step: number): { scanned: number; parsed: boolean } {
  const reader = new HeadReader(64 * 1024, 1000);
  const original = Buffer.prototype.indexOf;
  let scanned = 0;
  Buffer.prototype.indexOf = function (this: Buffer, value: unknown, from?: unknown, ...rest: unknown[]) {
    scanned += this.length - (typeof from === 'number' ? from : 0);
    return (original as (...a: unknown[]) => number).call(this, value, from, ...rest);
  };
  try {
    let held = Buffer.alloc(0);
    for (let at = 0; at < head.length; at += step) {
      const buf = Buffer.concat([held, head.subarray(at, at + step)]);
      const parsed = reader.read(buf);
      assert.equal(reader.error, undefined, reader.reason);
      if (parsed !== undefined) return { scanned, parsed: true };
      held = buf.subarray(reader.start);
    }
    return { scanned, parsed: false };
  } finally {
    Buffer.prototype.indexOf = original;
  }
}

describe('HeadReader on a head sent in small pieces', () => {
  const head = Buffer.from(
    `GET /x HTTP/1.1\r\nHost: h\r\n${Array.from({ length: 100 }, (_, i) => `x-field-${i}: ${'v'.repeat(60)}\r\n`).join('')}\r\n`,
    'latin1',
  );

  it('searches each byte a bounded number of times (byte by byte)', () => {
    const { scanned, parsed } = feed(head, 1);
    assert.ok(parsed);
    assert.ok(scanned < 10 * head.length, `scanned ${scanned} bytes for a ${head.length}-byte head`);
  });

  it('finds a head end that straddles two reads, and still refuses a bare LF sent late', () => {
    for (let step = 1; step <= 7; step++) assert.ok(feed(head, step).parsed, `step ${step}`);
    const reader = new HeadReader(64 * 1024, 1000);
    assert.equal(reader.read(Buffer.from('GET / HTTP/1.1\r\nHost: h\r\n', 'latin1')), undefined);
    assert.equal(reader.error, undefined);
    assert.equal(reader.read(Buffer.from('GET / HTTP/1.1\r\nHost: h\r\nx: y\n', 'latin1')), undefined);
    assert.equal(reader.error, 'malformed');
  });
});

describe('HeadReader before a request line', () => {
  const request = 'GET / HTTP/1.1\r\nHost: h\r\n\r\n';
  const read = (text: string) => {
    const reader = new HeadReader(64 * 1024, 1000);
    const head = reader.read(Buffer.from(text, 'latin1'));
    return { head, error: reader.error, reason: reader.reason, start: reader.start };
  };

  it('skips whole empty lines (RFC 9112 §2.2), and waits on a CR that may be one', () => {
    const skipped = read(`\r\n\r\n${request}`);
    assert.ok(skipped.head);
    assert.equal(skipped.start, 4);
    const waiting = read('\r');
    assert.equal(waiting.head, undefined);
    assert.equal(waiting.error, undefined);
  });

  it('refuses a lone LF, or a CR without its LF, where the request line starts', () => {
    // Found by the differential test: llhttp skips these one by one, others end lines there.
    for (const stray of ['\n', '\n\r\n', '\r\r\n', '\r\n\n', '\rG']) {
      const { head, error, reason } = read(`${stray}${request}`);
      assert.equal(head, undefined, JSON.stringify(stray));
      assert.equal(error, 'malformed', JSON.stringify(stray));
      assert.match(reason, /stray CR or LF/, JSON.stringify(stray));
    }
  });
});
