/**
 * A gRPC server dies under load: with `retries.on: [unavailable]` Portside sends the calls
 * it had in flight there, and those the dead endpoint refuses, to the other servers, so
 * the client sees no failure; without retries the same kill fails calls (so the first
 * half of this test can fail).
 *
 * A server that shuts down gracefully (GOAWAY, then its calls finish) costs no call even
 * with the default retries. The killed victim first stops answering, then dies with calls
 * open on it: a call whose answer
 * had started (response headers sent) is committed, as gRPC's retry design and Envoy have
 * it, and a kill landing between a server's message and its trailers fails that call in
 * any proxy. What Portside must save is every call the dead server had not answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EchoClient, type GrpcServer, grpc, unary } from '../helpers/grpc.js';
import { type GrpcSetup, startGrpcSetup } from '../helpers/grpc-proxy.js';
import { eventually } from '../helpers/wait.js';

const CALLS_MS = 5000;

interface Outcome {
  ok: number;
  failed: number;
  codes: Set<number>;
}

/**
 * Calls on 20 workers for CALLS_MS; stops `victim` (`stop`) once a fifth of the time
 * passed and it answered calls (so calls are in flight on it when it stops).
 */
async function stopDuringCalls(
  client: EchoClient,
  victim: GrpcServer,
  stop: (victim: GrpcServer) => Promise<void>,
): Promise<Outcome> {
  const outcome: Outcome = { ok: 0, failed: 0, codes: new Set() };
  const until = Date.now() + CALLS_MS;
  const worker = async () => {
    while (Date.now() < until) {
      // A short wait on the server: some calls are always in flight on each of them.
      const { error } = await unary(client, 'x', { delayMs: 5 });
      if (error === undefined) outcome.ok++;
      else {
        outcome.failed++;
        outcome.codes.add(error.code);
      }
    }
  };
  const workers = Promise.all(Array.from({ length: 20 }, worker));
  await eventually(() => Date.now() > until - (CALLS_MS * 4) / 5 && victim.unary > 0, {
    timeoutMs: CALLS_MS,
    what: 'calls answered by the victim',
  });
  await stop(victim);
  await workers;
  return outcome;
}

/** The victim stops answering, then dies with the calls it holds open. */
async function kill(victim: GrpcServer): Promise<void> {
  victim.hang = true;
  const held = victim.started;
  await eventually(() => victim.started >= held + 5, {
    timeoutMs: CALLS_MS,
    what: 'calls held by the victim',
  });
  victim.kill();
}

describe('gRPC failover', { timeout: 60_000 }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });
  const start = async (retries: string) => {
    const setup = await startGrpcSetup(['a', 'b', 'c'], { route: [`retries: ${retries}`] });
    cleanups.push(setup.close);
    return setup;
  };

  it('without retries, killing a server fails calls', async () => {
    const { client, servers } = await start('{ attempts: 0 }');
    const outcome = await stopDuringCalls(client, servers[2]!, kill);
    assert.ok(outcome.failed > 0, `no call failed (${outcome.ok} succeeded)`);
    assert.ok(outcome.codes.has(14), `UNAVAILABLE among ${[...outcome.codes].join(', ')}`);
  });

  it('a server shutting down gracefully (GOAWAY) fails no call, with the default retries', async () => {
    const { client, servers } = await start('{ attempts: 1, on: [connect-failure] }');
    const outcome = await stopDuringCalls(client, servers[2]!, (victim) => victim.close());
    assert.equal(outcome.failed, 0, `${outcome.failed} failed (${[...outcome.codes].join(', ')})`);
    assert.ok(servers[0]!.unary > 0 && servers[1]!.unary > 0, 'the others took the calls');
  });

  it('with retries.on: [unavailable], killing a server fails no call', async () => {
    const { client, servers } = await start('{ on: [unavailable] }');
    const outcome = await stopDuringCalls(client, servers[2]!, kill);
    assert.equal(
      outcome.failed,
      0,
      `${outcome.failed} failed (${[...outcome.codes].join(', ')}), ${outcome.ok} ok`,
    );
    assert.ok(outcome.ok > 500, `only ${outcome.ok} calls`);
    assert.ok(servers[0]!.unary > 0 && servers[1]!.unary > 0, 'the others took the calls');
  });
});

describe('gRPC retries on a status', { timeout: 60_000 }, () => {
  let set: GrpcSetup;
  before(async () => {
    set = await startGrpcSetup(['a', 'b', 'c'], {
      route: ['retries: { attempts: 2, on: [unavailable, resource-exhausted] }'],
    });
  });
  after(() => set?.close());

  it('sends unary and client-streaming calls answered UNAVAILABLE to another server', async () => {
    const [a, b, c] = set.servers as [GrpcServer, GrpcServer, GrpcServer];
    a.failWith = grpc.status.UNAVAILABLE;
    b.failWith = grpc.status.RESOURCE_EXHAUSTED;
    for (let i = 0; i < 9; i++) {
      const { reply, error } = await unary(set.client, `u${i}`);
      assert.equal(error, undefined, error?.message);
      assert.equal(reply?.server, 'c');
    }
    // A streamed request body (no length) is copied while it fits retries.bufferLimit, and replayed.
    for (let i = 0; i < 6; i++) {
      const reply = await new Promise<{ server: string; seq: number }>((resolve, reject) => {
        const call = set.client.ClientStream((error, r) => (error ? reject(error) : resolve(r!)));
        for (let m = 0; m < 100; m++) call.write({ text: `m${m}` });
        call.end();
      });
      assert.deepEqual(reply, { ...reply, server: 'c', seq: 100 });
    }
    assert.ok(a.received > 0 && b.received > 0, 'the failing servers were tried');
    a.failWith = undefined;
    b.failWith = grpc.status.INTERNAL;
    const { error } = await unary(set.client, 'not retried', {});
    // Round robin may land on b: INTERNAL is not in retries.on, so it reaches the client.
    if (error !== undefined) assert.equal(error.code, grpc.status.INTERNAL);
    c.failWith = undefined;
  });
});
