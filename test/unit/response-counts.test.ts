import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ResponseCounts } from '../../src/listeners/response-counts.js';

it('counts responses by code and method, and folds methods a client made up into OTHER', () => {
  const counts = new ResponseCounts();
  counts.count(200, 'GET');
  counts.count(200, 'GET');
  counts.count(404, 'POST');
  for (let i = 0; i < 1000; i++) counts.count(200, `X-${i}`);
  counts.count(0, 'GET');
  assert.deepEqual(
    counts.entries().sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1])),
    [
      [0, 'GET', 1],
      [200, 'GET', 2],
      [200, 'OTHER', 1000],
      [404, 'POST', 1],
    ],
  );
});
