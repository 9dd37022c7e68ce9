import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProblem, loadConfigText } from '../../src/config/load.js';

const CLUSTERS = 'clusters:\n  - { name: dns, endpoints: ["127.0.0.1:5353"] }\n';

function load(listeners: string) {
  const { config, problems } = loadConfigText(`listeners:\n${listeners}${CLUSTERS}`, 'f.yaml');
  return { config, problems: problems.map(formatProblem) };
}

describe('udp listener config', () => {
  it('fills the defaults: 30s idle timeout, 10,000 sessions, no reply timeout', () => {
    const { config, problems } = load('  - { name: d, address: 53, protocol: udp, cluster: dns }\n');
    assert.deepEqual(problems, []);
    assert.deepEqual(config!.listeners[0], {
      name: 'd',
      address: '127.0.0.1:53',
      protocol: 'udp',
      cluster: 'dns',
      idleTimeout: '30s',
      maxSessions: 10_000,
    });
  });

  it('takes replyTimeout, idleTimeout and maxSessions, and refuses zero timeouts', () => {
    const ok = load(
      '  - { name: d, address: 53, protocol: udp, cluster: dns, idleTimeout: 5s, replyTimeout: 1s, maxSessions: 10 }\n',
    );
    assert.deepEqual(ok.problems, []);
    const zero = load(
      '  - { name: d, address: 53, protocol: udp, cluster: dns, idleTimeout: 0s, replyTimeout: 0s }\n',
    );
    assert.equal(zero.problems.length, 2, zero.problems.join('\n'));
    assert.ok(
      zero.problems.every((p) => p.includes('must be above 0')),
      zero.problems.join('\n'),
    );
  });

  it('names an unknown cluster and explains routes', () => {
    const unknown = load('  - { name: d, address: 53, protocol: udp, cluster: dnz }\n');
    assert.ok(unknown.problems.some((p) => p.includes('unknown cluster "dnz" (did you mean "dns"?)')));
    const routes = load('  - { name: d, address: 53, protocol: udp, routes: [], cluster: dns }\n');
    assert.ok(
      routes.problems.some((p) => p.includes('udp listeners take one "cluster"')),
      routes.problems.join(),
    );
  });

  it('lets a udp and a tcp listener share an address, but not two udp ones', () => {
    const both = load(
      '  - { name: u, address: 53, protocol: udp, cluster: dns }\n  - { name: t, address: 53, cluster: dns }\n',
    );
    assert.deepEqual(both.problems, []);
    const twice = load(
      '  - { name: u, address: 53, protocol: udp, cluster: dns }\n  - { name: v, address: 53, protocol: udp, cluster: dns }\n',
    );
    assert.ok(
      twice.problems.some((p) => p.includes('already used by listeners[0]')),
      twice.problems.join(),
    );
  });

  it('checks wildcard overlaps among udp listeners only', () => {
    const udp = load(
      '  - { name: u, address: "0.0.0.0:53", protocol: udp, cluster: dns }\n  - { name: v, address: 53, protocol: udp, cluster: dns }\n',
    );
    assert.ok(
      udp.problems.some((p) => p.includes('overlaps listeners[0] (0.0.0.0:53)')),
      udp.problems.join(),
    );
    const mixed = load(
      '  - { name: t, address: "0.0.0.0:53", cluster: dns }\n  - { name: u, address: 53, protocol: udp, cluster: dns }\n',
    );
    assert.deepEqual(mixed.problems, []);
  });
});
