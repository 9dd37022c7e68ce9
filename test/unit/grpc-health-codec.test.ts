/**
 * The gRPC health check's hand-written protobuf against @grpc/proto-loader's encoding of
 * grpc.health.v1 (test/fixtures/health.proto): what Portside sends decodes to the service
 * asked for, and every status a server can answer decodes to the right value.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { healthCheckRequest, servingStatusOf } from '../../src/health/grpc-probe.js';

const check = loadSync(join(import.meta.dirname, '..', 'fixtures', 'health.proto'), { defaults: true })[
  'grpc.health.v1.Health'
] as unknown as { Check: MethodDefinition<{ service: string }, { status: number | string }> };

function framed(message: Buffer): Buffer {
  const frame = Buffer.alloc(5);
  frame.writeUInt32BE(message.length, 1);
  return Buffer.concat([frame, message]);
}

test('the request is a gRPC frame that decodes to the service asked for', () => {
  for (const service of ['', 'portside.test.Echo', 'x'.repeat(300), 'dienst-ü']) {
    const bytes = healthCheckRequest(service);
    assert.equal(bytes[0], 0, 'uncompressed');
    assert.equal(bytes.readUInt32BE(1), bytes.length - 5);
    assert.equal(check.Check.requestDeserialize(bytes.subarray(5)).service, service);
  }
});

test('every serving status decodes; a bad frame does not', () => {
  for (const [status, value] of [
    ['UNKNOWN', 0],
    ['SERVING', 1],
    ['NOT_SERVING', 2],
    ['SERVICE_UNKNOWN', 3],
  ] as const) {
    const message = check.Check.responseSerialize({ status });
    assert.equal(servingStatusOf(framed(message)), value, status);
  }
  // Unknown fields before the status are skipped (a newer server may add some).
  const extra = Buffer.from([0x12, 0x02, 0x61, 0x62, 0x18, 0x96, 0x01, 0x08, 0x01]);
  assert.equal(servingStatusOf(framed(extra)), 1);
  assert.equal(servingStatusOf(Buffer.from([1, 0, 0, 0, 2, 0x08, 0x01])), undefined, 'compressed');
  assert.equal(servingStatusOf(Buffer.from([0, 0, 0, 0, 3, 0x08, 0x01])), undefined, 'short');
  assert.equal(servingStatusOf(Buffer.from([0, 0, 0, 0, 1, 0x08])), undefined, 'truncated varint');
});
