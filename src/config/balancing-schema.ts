/**
 * The `balancing` section of a cluster and Portside's own locality (`node`). Built by a
 * function that takes the duration type, because schema.ts imports this file and an import
 * back from it would see `duration` before it is initialised.
 */
import { z } from 'zod';
import { HASH_KEY_FORMS, parseHashKey } from '../balancing/hash-key.js';
import { MAX_RING_SIZE } from '../balancing/hash-ring.js';
import { isPrime, MAX_MAGLEV_TABLE_SIZE } from '../balancing/maglev.js';
import {
  canonicalPolicy,
  describePolicy,
  HASH_KEY_DEFAULTS,
  POLICIES,
  POLICY_SPELLINGS,
  type PolicyName,
} from '../balancing/policies.js';
import { suggest } from './suggest.js';

const policyList = (Object.keys(POLICIES) as PolicyName[]).map(describePolicy).join(', ');
const hashingPolicies = (Object.keys(HASH_KEY_DEFAULTS) as PolicyName[]).map(describePolicy).join(', ');

export function balancingSchema(duration: z.ZodType<string, string>) {
  return z
    .strictObject({
      /** Which algorithm picks the endpoint; names and aliases from IPVS, nginx, HAProxy and Envoy. */
      policy: z
        .enum(POLICY_SPELLINGS, {
          error: (issue) =>
            typeof issue.input === 'string'
              ? `unknown balancing policy "${issue.input}"${suggest(issue.input, POLICY_SPELLINGS)}; expected one of: ${policyList}`
              : `expected a balancing policy name, one of: ${policyList}`,
        })
        .default('round_robin'),
      /** Hashing policies only: what to hash (default client_ip, or destination for dh, lblc, lblcr). */
      key: z
        .string({ error: `expected a hash key: ${HASH_KEY_FORMS}` })
        .superRefine((text, ctx) => {
          const parsed = parseHashKey(text);
          if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
        })
        .optional(),
      /** ring_hash only: points on the ring at least (Envoy minimum_ring_size). */
      minimumRingSize: z
        .number({ error: 'expected a whole number of ring points' })
        .int('expected a whole number of ring points')
        .min(1, 'expected at least 1 ring point')
        .max(MAX_RING_SIZE, `expected at most ${MAX_RING_SIZE} ring points`)
        .optional(),
      /** maglev only: slots in the lookup table, a prime (Envoy table_size, default 65537). */
      tableSize: z
        .number({ error: 'expected a prime number of table slots' })
        .int('expected a prime number of table slots')
        .min(2, 'expected a prime number of table slots')
        .max(MAX_MAGLEV_TABLE_SIZE, `expected at most ${MAX_MAGLEV_TABLE_SIZE} table slots`)
        .refine(isPrime, {
          error: (issue) =>
            `${issue.input} is not a prime; Maglev needs a prime table size (such as 65537 or 655373)`,
        })
        .optional(),
      /** least_request only: weigh load by each endpoint's latency EWMA. */
      latencyAware: z.boolean({ error: 'expected true or false' }).optional(),
      /** Kubernetes sessionAffinity: ClientIP. */
      affinity: z
        .strictObject({
          clientIp: z.strictObject({ timeout: duration.default('3h') }).default({ timeout: '3h' }),
        })
        .optional(),
      locality: z
        .enum(['any', 'prefer-local', 'local-only'], {
          error: 'expected "any", "prefer-local" or "local-only"',
        })
        .default('any'),
      /** Ramp a new or recovered endpoint's share up over this window; "0s" turns it off. */
      slowStart: duration.default('0s'),
    })
    .superRefine((value, ctx) => {
      const policy = canonicalPolicy(value.policy);
      const onlyFor = (option: 'minimumRingSize' | 'tableSize' | 'latencyAware', owner: PolicyName) => {
        if (value[option] !== undefined && policy !== owner)
          ctx.addIssue({
            code: 'custom',
            path: [option],
            message: `"${option}" applies only to policy ${describePolicy(owner)}, not ${value.policy}`,
          });
      };
      if (value.key !== undefined && (policy === undefined || !(policy in HASH_KEY_DEFAULTS))) {
        ctx.addIssue({
          code: 'custom',
          path: ['key'],
          message: `"key" applies only to policies that hash (${hashingPolicies}), not ${value.policy}`,
        });
      }
      onlyFor('minimumRingSize', 'ring_hash');
      onlyFor('tableSize', 'maglev');
      onlyFor('latencyAware', 'least_request');
    });
}

/** Portside's own place in the topology, for `balancing.locality`; unset fields come from NODE_NAME / ZONE. */
export const selfLocality = z
  .strictObject({
    name: z.string().min(1, 'node name must not be empty').optional(),
    zone: z.string().min(1, 'zone must not be empty').optional(),
  })
  .default({});
