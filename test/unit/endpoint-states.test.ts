import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RoundRobinPicker } from '../../src/balancing/round-robin.js';
import { Cluster } from '../../src/core/cluster.js';
import { EndpointStateRegistry } from '../../src/core/endpoint.js';
import type { DiscoveredEndpoint } from '../../src/discovery/source.js';

const at = (...ports: number[]): DiscoveredEndpoint[] =>
  ports.map((port) => ({ host: '10.0.0.1', port, weight: 1, locality: {} }));

describe('endpoint states', () => {
  it('are forgotten when endpoints leave discovery, so churn does not grow memory', () => {
    const states = new EndpointStateRegistry();
    const cluster = new Cluster('pods', new RoundRobinPicker(), states);
    // A week of pod churn: every snapshot replaces one of three endpoints with a new one.
    for (let i = 0; i < 5_000; i++) cluster.setEndpoints(at(i, i + 1, i + 2));
    assert.equal(states.size, 3);
    assert.deepEqual(
      cluster.endpoints.map((e) => e.port),
      [4_999, 5_000, 5_001],
    );
  });

  it('stay the same object for endpoints that remain, whatever else changes', () => {
    const states = new EndpointStateRegistry();
    const cluster = new Cluster('api', new RoundRobinPicker(), states);
    cluster.setEndpoints(at(1, 2));
    const kept = cluster.endpoints[1]!.state;
    kept.active = 7;
    cluster.setEndpoints([...at(3), { ...at(2)[0]!, weight: 5 }, ...at(2)]);
    assert.equal(cluster.endpoints.length, 2, 'the duplicate counts once');
    assert.equal(cluster.endpoints[1]!.weight, 5);
    assert.equal(cluster.endpoints[1]!.state, kept);
    assert.equal(states.size, 2);
  });

  it('survive a reload: the new generation shares them, and the retired one lets go', () => {
    const states = new EndpointStateRegistry();
    const old = new Cluster('api', new RoundRobinPicker(), states);
    old.setEndpoints(at(1, 2));
    const next = new Cluster('api', new RoundRobinPicker(), states);
    next.setEndpoints(at(2, 3));
    assert.equal(next.endpoints[0]!.state, old.endpoints[1]!.state);
    old.release();
    old.release(); // idempotent
    assert.equal(states.size, 2, 'port 1 was only the old generation’s');
    assert.equal(old.endpoints.length, 2, 'the retired cluster can still pick for its connections');
    next.release();
    assert.equal(states.size, 0);
    const again = new Cluster('api', new RoundRobinPicker(), states);
    again.setEndpoints(at(2));
    assert.notEqual(again.endpoints[0]!.state, next.endpoints[0]!.state, 'a later comeback starts afresh');
  });

  it('are not taken again by a retired cluster that still gets a snapshot', () => {
    const states = new EndpointStateRegistry();
    const cluster = new Cluster('api', new RoundRobinPicker(), states);
    cluster.setEndpoints(at(1));
    cluster.release();
    assert.equal(cluster.setEndpoints(at(1, 2)), false);
    assert.equal(states.size, 0);
  });
});
