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
  shortest_expected_delay: ['sed'],
  never_queue: ['nq'],
} as const satisfies Record<string, readonly string[]>;

export type PolicyName = keyof typeof POLICIES;
export type PolicyAlias = (typeof POLICIES)[PolicyName][number];

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
