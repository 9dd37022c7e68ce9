/**
 * Picks per second for every balancing policy at 10, 100 and 1,000 endpoints.
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 *
 *   node --import tsx bench/pickers.ts [millisecondsPerCase]
 *
 * Each pick "opens a connection" on the endpoint (active++) and closes the one opened 64
 * picks earlier (active--), so least-loaded policies pay for their heap updates as they
 * would under real traffic. Client addresses and requests (host, path and a `user` query
 * parameter, for the destination and query hash keys) cycle over 4,096 values.
 */
import { AffinityRegistry } from '../src/balancing/affinity.js';
import type { PickContext } from '../src/balancing/picker.js';
import { POLICIES, type PolicyName } from '../src/balancing/policies.js';
import { type BalancingOptions, createPicker } from '../src/balancing/registry.js';
import { type Endpoint, EndpointState, endpointId } from '../src/core/endpoint.js';

const SIZES = [10, 100, 1000];
const OUTSTANDING = 64;
const durationMs = Number(process.argv[2] ?? 300);

function endpoints(count: number): Endpoint[] {
  return Array.from({ length: count }, (_, i) => {
    const host = `10.1.${i >> 8}.${i & 255}`;
    const state = new EndpointState(0);
    state.latencyEwmaMs = 1 + (i % 7);
    return {
      id: endpointId(host, 80),
      host,
      port: 80,
      weight: 1 + (i % 5),
      locality: { node: `n${i % 3}` },
      state,
    };
  });
}

const clients = Array.from({ length: 4096 }, (_, i) => `192.168.${i >> 8}.${i & 255}`);
const requests = Array.from({ length: 4096 }, (_, i) => ({
  headers: {},
  host: 'shop.example',
  path: `/items/${(i * 7919) % 4096}`,
  target: `/items/${(i * 7919) % 4096}?page=2&user=u${i % 1024}`,
}));

function picksPerSecond(options: BalancingOptions, count: number): number {
  const set = endpoints(count);
  const picker = createPicker(options, {
    cluster: 'bench',
    affinity: new AffinityRegistry(),
    self: { node: 'n1' },
  });
  const open: (Endpoint | undefined)[] = new Array(OUTSTANDING).fill(undefined);
  const context: PickContext = {};
  let picks = 0;
  const run = (iterations: number) => {
    for (let i = 0; i < iterations; i++) {
      context.clientAddress = clients[picks & 4095]!;
      context.request = requests[picks & 4095]!;
      const endpoint = picker.pick(set, context);
      if (endpoint) endpoint.state.active++;
      const slot = picks % OUTSTANDING;
      const closing = open[slot];
      if (closing) closing.state.active--;
      open[slot] = endpoint;
      picks++;
    }
  };
  run(20_000); // warm up the JIT and build tables
  picks = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < durationMs) {
    run(10_000);
    elapsed = performance.now() - start;
  }
  return (picks / elapsed) * 1000;
}

const cases: [string, BalancingOptions][] = [
  ...(Object.keys(POLICIES) as PolicyName[]).map((policy): [string, BalancingOptions] => [
    policy,
    { policy },
  ]),
  ['least_request latencyAware', { policy: 'least_request', latencyAware: true }],
  ['maglev key query:user', { policy: 'maglev', key: 'query:user' }],
  ['ring_hash key uri', { policy: 'ring_hash', key: 'uri' }],
  ['round_robin + affinity', { policy: 'round_robin', affinity: { clientIp: { timeout: '3h' } } }],
  ['least_connections + prefer-local', { policy: 'least_connections', locality: 'prefer-local' }],
  ['weighted_random + slowStart', { policy: 'weighted_random', slowStart: '30s' }],
];

const format = (n: number) => `${(n / 1e6).toFixed(2)}M`.padStart(9);
console.log(`picks/second (${durationMs} ms per case, node ${process.version})`);
console.log(`${'policy'.padEnd(40)}${SIZES.map((s) => `${s} eps`.padStart(9)).join('')}`);
for (const [name, options] of cases) {
  const figures = SIZES.map((size) => picksPerSecond(options, size));
  console.log(`${name.padEnd(40)}${figures.map(format).join('')}`);
}
