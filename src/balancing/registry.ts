/**
 * Builds a cluster's picker from its `balancing` config: the policy (by name or alias),
 * wrapped in slow start, locality and session affinity when configured.
 */

import { ms } from '../config/values.js';
import type { OutcomeObserver } from '../core/cluster.js';
import type { Locality } from '../core/endpoint.js';
import { AffinityPicker, type AffinityRegistry } from './affinity.js';
import { FirstAvailablePicker } from './first-available.js';
import { type HashKey, parseHashKey } from './hash-key.js';
import { LatencyObserver } from './latency.js';
import { LeastConnectionsPicker } from './least-connections.js';
import { LeastRequestPicker } from './least-request.js';
import { type LocalityMode, LocalityPicker } from './locality.js';
import { LocalityLeastConnectionsPicker } from './locality-least-connections.js';
import { MaglevPicker } from './maglev.js';
import { NeverQueuePicker } from './never-queue.js';
import type { Picker } from './picker.js';
import { canonicalPolicy, HASH_KEY_DEFAULTS, type PolicyName } from './policies.js';
import { RandomPicker } from './random.js';
import type { Random } from './random-usable.js';
import { RoundRobinPicker } from './round-robin.js';
import { ShortestExpectedDelayPicker } from './shortest-expected-delay.js';
import { SlowStartPicker } from './slow-start.js';
import { SourceHashPicker } from './source-hash.js';
import { WeightedRandomPicker } from './weighted-random.js';

/** The `balancing` section after schema validation (see src/config/balancing-schema.ts). */
export interface BalancingOptions {
  policy: string;
  key?: string | undefined;
  /** ring_hash only. */
  minimumRingSize?: number | undefined;
  /** maglev only; a prime. */
  tableSize?: number | undefined;
  latencyAware?: boolean | undefined;
  affinity?: { clientIp: { timeout: string } } | undefined;
  locality?: LocalityMode | undefined;
  slowStart?: string | undefined;
}

export interface PickerDependencies {
  /** The cluster's name: affinity tables are kept per cluster across reloads. */
  cluster: string;
  /** The process-wide affinity registry; required when `affinity` is configured. */
  affinity?: AffinityRegistry;
  /** Portside's own node and zone (`resolveSelfLocality`). */
  self?: Locality;
  random?: Random;
}

type PolicyFactory = (options: BalancingOptions, random: Random) => Picker;

const FACTORIES: Record<PolicyName, PolicyFactory> = {
  round_robin: () => new RoundRobinPicker(),
  weighted_round_robin: () => new RoundRobinPicker(),
  random: (_, random) => new RandomPicker(random),
  weighted_random: (_, random) => new WeightedRandomPicker(random),
  least_connections: () => new LeastConnectionsPicker(),
  least_request: (options, random) =>
    new LeastRequestPicker({ latencyAware: options.latencyAware ?? false, random }),
  source_hash: (options, random) => new SourceHashPicker(keyOf(options), random),
  destination_hash: (options, random) => new SourceHashPicker(keyOf(options), random),
  ring_hash: (options, random) => new SourceHashPicker(keyOf(options), random, options.minimumRingSize),
  maglev: (options, random) => new MaglevPicker(keyOf(options), random, options.tableSize),
  locality_least_connections: (options) => new LocalityLeastConnectionsPicker(keyOf(options), false),
  locality_least_connections_replicated: (options) =>
    new LocalityLeastConnectionsPicker(keyOf(options), true),
  shortest_expected_delay: () => new ShortestExpectedDelayPicker(),
  never_queue: () => new NeverQueuePicker(),
  failover: () => new FirstAvailablePicker({ order: 'weight', fillToWeight: false }),
  overflow: () => new FirstAvailablePicker({ order: 'weight', fillToWeight: true }),
  first: () => new FirstAvailablePicker({ order: 'listed', fillToWeight: true }),
};

/** The hash key of a hashing policy: the configured one, or the policy's default. */
function keyOf(options: BalancingOptions): HashKey {
  const text = options.key ?? HASH_KEY_DEFAULTS[policyOf(options)] ?? 'client_ip';
  const key = parseHashKey(text);
  if (typeof key === 'string') throw new Error(`balancing.key: ${key}`);
  return key;
}

export function policyOf(options: BalancingOptions): PolicyName {
  const policy = canonicalPolicy(options.policy);
  if (!policy) throw new Error(`unknown balancing policy "${options.policy}"`);
  return policy;
}

export function createPicker(options: BalancingOptions, dependencies: PickerDependencies): Picker {
  const random = dependencies.random ?? Math.random;
  const factory = FACTORIES[policyOf(options)];
  const slowStartMs = options.slowStart ? ms(options.slowStart) : 0;
  // Locality builds one policy instance per tier, so the policy (plus slow start) is a factory.
  const newPolicy = (): Picker => {
    const picker = factory(options, random);
    return slowStartMs > 0 ? new SlowStartPicker(picker, slowStartMs, random) : picker;
  };
  const locality = options.locality ?? 'any';
  let picker =
    locality === 'any' ? newPolicy() : new LocalityPicker(locality, dependencies.self ?? {}, newPolicy);
  if (options.affinity) {
    if (!dependencies.affinity) throw new Error('balancing.affinity needs an AffinityRegistry');
    const table = dependencies.affinity.tableFor(dependencies.cluster);
    picker = new AffinityPicker(picker, table, ms(options.affinity.clientIp.timeout));
  }
  return picker;
}

/** Observers the runtime attaches to the cluster (`cluster.observers.push(...)`) for this policy. */
export function balancingObservers(options: BalancingOptions): OutcomeObserver[] {
  return policyOf(options) === 'least_request' && options.latencyAware ? [new LatencyObserver()] : [];
}
