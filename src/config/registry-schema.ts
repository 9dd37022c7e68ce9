/**
 * `registry:` (where this node announces its applications) and `register:` (what it
 * announces), as a Consul agent's `services:` with their checks. Entries are written
 * under the key layout `discovery.etcd` reads: `<prefix><service>/<id>` → JSON
 * `{ address, weight, node, zone, metadata }`, on a lease of `ttl`.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { clusterHealthFields } from './health-schema.js';
import { formatAddress, parseDuration } from './values.js';

type Duration = z.ZodType<string, string>;

const etcdUrl = z
  .string({ error: 'expected an etcd client URL, e.g. "http://127.0.0.1:2379"' })
  .regex(
    /^https?:\/\/[^/\s@]+\/?$/,
    'expected an etcd client URL such as "http://127.0.0.1:2379" (no user:password@; use username and password)',
  );

/** A host name or IP, without a port (the port is its own key, as in Consul). */
const host = z
  .string({ error: 'expected a host name or IP address, e.g. "10.0.0.5"' })
  .refine(
    (h) =>
      isIP(h) !== 0 ||
      /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
        h,
      ),
    'expected a host name or IP address without a port, e.g. "10.0.0.5" (the port goes in "port")',
  );

/** Key segments must not contain "/": one key is one instance directly below the service. */
const keySegment = (what: string) =>
  z
    .string({ error: `expected a ${what}` })
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,252}$/, `a ${what} is letters, digits, "_", ".", ":", "@" or "-"`);

export function registrySchema(duration: Duration) {
  const etcd = z.strictObject({
    /** Client URLs; a failed request moves on to the next one. */
    endpoints: z
      .array(etcdUrl)
      .min(1, 'list at least one etcd client URL')
      .default(['http://127.0.0.1:2379']),
    /** Keys are `<prefix><service>/<id>`; a cluster discovers them with prefix `<prefix><service>/`. */
    prefix: z
      .string({ error: 'expected a key prefix, e.g. "/services/"' })
      .regex(/^\S*\/$/, 'the prefix ends with "/", e.g. "/services/"')
      .default('/services/'),
    /** etcd authentication; the password may come from $PORTSIDE_ETCD_PASSWORD instead. */
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    /** Time allowed for one request to one etcd endpoint. */
    timeout: duration.default('5s'),
    /** TLS to https:// endpoints, with the names clusters use: files for ca, certificate and key. */
    tls: z
      .strictObject({
        ca: z.string().min(1).optional(),
        certificate: z.string().min(1).optional(),
        key: z.string().min(1).optional(),
        sni: z.string().min(1).optional(),
        verify: z.boolean().default(true),
      })
      .refine((t) => !t.certificate === !t.key, 'give both "certificate" and "key", or neither')
      .optional(),
  });

  const registry = z.strictObject({ etcd: etcd.prefault({}) });

  const registration = z
    .strictObject({
      service: keySegment('service name'),
      /** The instance's key below its service; default "address:port". */
      id: keySegment('registration id').optional(),
      address: host,
      port: z.number({ error: 'expected a port number' }).int().min(1).max(65535),
      weight: z.number().int().min(1).max(1_000_000).default(1),
      /** Locality for `balancing.locality`; default: this Portside's `node.name` / `node.zone`. */
      node: z.string().min(1).optional(),
      zone: z.string().min(1).optional(),
      metadata: z.record(z.string(), z.string()).optional(),
      /** Lease time: without a heartbeat the entry disappears this long after the last one. */
      ttl: duration.default('10s'),
      /** The cluster `healthCheck` syntax, probing address:port; the entry is announced only while it passes. */
      healthCheck: clusterHealthFields(duration).healthCheck,
    })
    .superRefine((entry, ctx) => {
      const ttl = parseDuration(entry.ttl);
      if (ttl.ok && (ttl.value < 1000 || ttl.value % 1000 !== 0)) {
        ctx.addIssue({
          code: 'custom',
          path: ['ttl'],
          message: 'etcd leases are whole seconds: write a ttl of at least "1s", e.g. "10s"',
        });
      }
    });

  /** Two entries with one key would overwrite each other's value and lease. */
  const registrations = z.array(registration).superRefine((entries, ctx) => {
    const seen = new Map<string, number>();
    entries.forEach((entry, index) => {
      const key = `${entry.service}/${entry.id ?? formatAddress({ host: entry.address, port: entry.port })}`;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `same service and id as register[${first}] (${key}): give one of them an "id"`,
        });
    });
  });

  return { registry, registration, registrations };
}

export type RegistryConfig = z.output<ReturnType<typeof registrySchema>['registry']>;
export type EtcdRegistryConfig = RegistryConfig['etcd'];
export type RegistrationConfig = z.output<ReturnType<typeof registrySchema>['registration']>;
