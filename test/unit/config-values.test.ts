import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseAddress, parseDuration } from '../../src/config/values.js';

describe('parseDuration', () => {
  for (const [text, expected] of [
    ['500ms', 500],
    ['1s', 1000],
    ['1.5s', 1500],
    ['10m', 600_000],
    ['3h', 10_800_000],
    ['1m30s', 90_000],
    ['0s', 0],
  ] as const) {
    it(`reads "${text}" as ${expected} ms`, () =>
      assert.deepEqual(parseDuration(text), { ok: true, value: expected }));
  }
  for (const text of ['', '10', '1x', 's', '1 s', '-1s', '1s2']) {
    it(`rejects "${text}" with a message naming the units`, () => {
      const result = parseDuration(text);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.message, /ms, s, m|unit|empty/);
    });
  }
  it('formats back to the largest whole unit', () => {
    assert.equal(formatDuration(30_000), '30s');
    assert.equal(formatDuration(1500), '1500ms');
    assert.equal(formatDuration(7_200_000), '2h');
  });
});

describe('parseAddress', () => {
  it('reads host:port', () =>
    assert.deepEqual(parseAddress('127.0.0.1:6380'), { ok: true, value: { host: '127.0.0.1', port: 6380 } }));
  it('reads hostnames', () =>
    assert.deepEqual(parseAddress('redis.internal:6379'), {
      ok: true,
      value: { host: 'redis.internal', port: 6379 },
    }));
  it('reads bracketed IPv6', () =>
    assert.deepEqual(parseAddress('[::1]:8080'), { ok: true, value: { host: '::1', port: 8080 } }));
  it('reads a bare port as the default host', () => {
    assert.deepEqual(parseAddress('6380', { defaultHost: '127.0.0.1' }), {
      ok: true,
      value: { host: '127.0.0.1', port: 6380 },
    });
    assert.deepEqual(parseAddress(6380, { defaultHost: '127.0.0.1' }), {
      ok: true,
      value: { host: '127.0.0.1', port: 6380 },
    });
  });
  it('rejects a bare port where no default host applies', () => assert.equal(parseAddress('6380').ok, false));
  it('allows port 0 only when asked', () => {
    assert.equal(parseAddress('127.0.0.1:0').ok, false);
    assert.equal(parseAddress('127.0.0.1:0', { allowPortZero: true }).ok, true);
  });
  for (const [text, pattern] of [
    ['127.0.0.1:65536', /out of range/],
    ['127.0.0.1', /missing port/],
    ['127.0.0.1:http', /invalid port/],
    ['::1:80', /brackets/],
    ['bad host!:80', /invalid host/],
    ['[127.0.0.1]:80', /not an IPv6/],
  ] as const) {
    it(`rejects "${text}"`, () => {
      const result = parseAddress(text);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.message, pattern);
    });
  }
});
