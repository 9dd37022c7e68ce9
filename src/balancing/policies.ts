/**
 * Balancing policy names and their aliases, as users know them from IPVS, nginx, HAProxy
 * and Envoy. Plain data, shared by the config schema and the picker registry.
 */
export const POLICIES = {
  round_robin: ['rr'],
  weighted_round_robin: ['wrr'],
  random: [],
  weighted_random: [],
  least_connections: ['lc', 'wlc'],
  least_request: ['p2c'],
  source_hash: ['sh'],
  destination_hash: ['dh'],
  ring_hash: [],
  maglev: ['mh'],
  locality_least_connections: ['lblc'],
  locality_least_connections_replicated: ['lblcr'],
  shortest_expected_delay: ['sed'],
  never_queue: ['nq'],
  failover: ['fo'],
  overflow: ['ovf'],
  first: [],
} as const satisfies Record<string, readonly string[]>;

export type PolicyName = keyof typeof POLICIES;
export type PolicyAlias = (typeof POLICIES)[PolicyName][number];

/** Policies that take a hash `key`, with the key they hash when none is configured. */
export const HASH_KEY_DEFAULTS: Partial<Record<PolicyName, string>> = {
  source_hash: 'client_ip',
  destination_hash: 'destination',
  ring_hash: 'client_ip',
  maglev: 'client_ip',
  locality_least_connections: 'destination',
  locality_least_connections_replicated: 'destination',
};

const canonical = new Map<string, PolicyName>();
for (const [name, aliases] of Object.entries(POLICIES) as [PolicyName, readonly string[]][]) {
  canonical.set(name, name);
  for (const alias of aliases) canonical.set(alias, name);
}

/** Every accepted spelling, each name followed by its aliases. */
export const POLICY_SPELLINGS = [...canonical.keys()] as [
  PolicyName | PolicyAlias,
  ...(PolicyName | PolicyAlias)[],
];

/** The canonical name of a name or alias, or undefined when unknown. */
export function canonicalPolicy(spelling: string): PolicyName | undefined {
  return canonical.get(spelling);
}

/** "name (alias, alias)", for messages. */
export function describePolicy(name: PolicyName): string {
  const aliases: readonly string[] = POLICIES[name];
  return aliases.length ? `${name} (${aliases.join(', ')})` : name;
}
