/**
 * The `balancing` section of a cluster and Portside's own locality (`node`). Built by a
 * function that takes the duration type, because schema.ts imports this file and an import
 * back from it would see `duration` before it is initialised.
 */
import { z } from 'zod';
import { HASH_KEY_FORMS, parseHashKey } from '../balancing/hash-key.js';
import { canonicalPolicy, POLICIES, POLICY_SPELLINGS } from '../balancing/policies.js';
import { suggest } from './suggest.js';

const policyList = Object.entries(POLICIES)
  .map(([name, aliases]) => (aliases.length ? `${name} (${aliases.join(', ')})` : name))
  .join(', ');

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
      /** source_hash only: what to hash (default client_ip). */
      key: z
        .string({ error: `expected a hash key: ${HASH_KEY_FORMS}` })
        .superRefine((text, ctx) => {
          const parsed = parseHashKey(text);
          if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
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
      if (value.key !== undefined && policy !== 'source_hash') {
        ctx.addIssue({
          code: 'custom',
          path: ['key'],
          message: `"key" applies only to policy source_hash (sh), not ${value.policy}`,
        });
      }
      if (value.latencyAware !== undefined && policy !== 'least_request') {
        ctx.addIssue({
          code: 'custom',
          path: ['latencyAware'],
          message: `"latencyAware" applies only to policy least_request (p2c), not ${value.policy}`,
        });
      }
    });
}

/** Portside's own place in the topology, for `balancing.locality`; unset fields come from NODE_NAME / ZONE. */
export const selfLocality = z
  .strictObject({
    name: z.string().min(1, 'node name must not be empty').optional(),
    zone: z.string().min(1, 'zone must not be empty').optional(),
  })
  .default({});
