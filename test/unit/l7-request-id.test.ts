import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newRequestId } from '../../src/l7/request-id.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newRequestId', { timeout: 10_000 }, () => {
  it('makes version 4 UUIDs, none repeated, across several refills of its random block', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = newRequestId();
      assert.match(id, UUID_V4);
      assert.ok(!seen.has(id), `repeated id ${id}`);
      seen.add(id);
    }
  });

  it('returns strings that later ids do not change (the scratch buffer is reused)', () => {
    const first = newRequestId();
    const copy = `${first}`;
    for (let i = 0; i < 300; i++) newRequestId();
    assert.equal(first, copy);
    assert.match(first, UUID_V4);
  });

  it('uses every hex digit in every free position (no stuck bits)', () => {
    const digits = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 3000; i++) {
      const id = newRequestId();
      for (let at = 0; at < id.length; at++) digits[at]!.add(id[at]!);
    }
    for (const at of [0, 7, 9, 15, 20, 35]) assert.equal(digits[at]!.size, 16, `position ${at}`);
    assert.deepEqual([...digits[14]!], ['4']);
    assert.deepEqual([...digits[19]!].sort(), ['8', '9', 'a', 'b']);
  });
});
