/**
 * The `discovery` section of a cluster: where its endpoints come from when they are not
 * listed statically. Exactly one source per cluster.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { formatAddress, ms, parseAddress, parseDuration } from './values.js';

/** A DNS server to ask: "10.0.0.2", "127.0.0.1:5353" or "[::1]:53". */
const dnsServer = z
  .string({ error: 'expected a DNS server address, e.g. "10.0.0.2" or "127.0.0.1:5353"' })
  .transform((input, ctx) => {
    const text = input.trim();
    // A bare IP address means port 53.
    if (isIP(text) === 4) return `${text}:53`;
    if (isIP(text) === 6) return `[${text}]:53`;
    const parsed = parseAddress(text);
    if (parsed.ok) return formatAddress(parsed.value);
    ctx.addIssue({ code: 'custom', message: `invalid DNS server "${input}": ${parsed.message}` });
    return z.NEVER;
  });

type Duration = z.ZodType<string, string>;

/**
 * A function of schema.ts's `duration` so that this file does not import schema.ts back:
 * an import cycle would break whichever of the two modules loads first.
 */
export function discoverySchema(duration: Duration) {
  const dnsDiscovery = z
    .strictObject({
      /** The name to resolve; for SRV the full service name, e.g. `_http._tcp.payments.internal`. */
      name: z
        .string({ error: 'expected a DNS name' })
        .regex(
          /^(?=.{1,253}\.?$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/,
          'invalid DNS name',
        ),
      type: z.enum(['A', 'AAAA', 'SRV'], { error: 'expected A, AAAA or SRV' }).default('A'),
      /** Upstream port for A/AAAA records; SRV records carry their own. */
      port: z.number({ error: 'expected a port number' }).int().min(1).max(65535).optional(),
      /** Fixed refresh interval; default: the record TTL, bounded by minRefresh/maxRefresh. */
      refresh: duration.optional(),
      minRefresh: duration.default('5s'),
      maxRefresh: duration.default('5m'),
      /** Time allowed for one query before it counts as a failure. */
      timeout: duration.default('5s'),
      /** DNS servers to ask instead of the system resolvers (/etc/resolv.conf). */
      servers: z.array(dnsServer).min(1, 'list at least one server, or leave "servers" out').optional(),
    })
    .superRefine((dns, ctx) => {
      if (dns.type === 'SRV' && dns.port !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['port'],
          message: 'SRV records carry their own ports; remove "port"',
        });
      }
      if (
        parseDuration(dns.minRefresh).ok &&
        parseDuration(dns.maxRefresh).ok &&
        ms(dns.minRefresh) > ms(dns.maxRefresh)
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['minRefresh'],
          message: `minRefresh (${dns.minRefresh}) is longer than maxRefresh (${dns.maxRefresh})`,
        });
      }
      if (dns.type !== 'SRV' && dns.port === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['port'],
          message: `"port" is required for ${dns.type} records`,
        });
      }
    });

  /** A Kubernetes object name (DNS-1035 label for Services, DNS-1123 label for namespaces). */
  const kubernetesName = z
    .string({ error: 'expected a Kubernetes name' })
    .regex(
      /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
      'Kubernetes names are lowercase letters, digits and "-" (max 63)',
    );

  const kubernetesDiscovery = z.strictObject({
    service: kubernetesName,
    /** Default: the pod's own namespace (service account or $POD_NAMESPACE), else "default". */
    namespace: kubernetesName.optional(),
    /**
     * Service port name or number; required when the Service has more than one port.
     * Resolved to target ports through the EndpointSlice port names.
     */
    port: z
      .union(
        [
          z
            .number()
            .int('Service port numbers are whole numbers')
            .min(1, 'Service port numbers are 1-65535')
            .max(65535, 'Service port numbers are 1-65535'),
          z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/),
        ],
        {
          error: 'expected a Service port name (e.g. "http") or number (1-65535)',
        },
      )
      .optional(),
    /** Default: in-cluster service account, else $KUBECONFIG, else ~/.kube/config. */
    kubeconfig: z.string().min(1).optional(),
    /**
     * What one list+watch covers: this Service, its namespace, or every namespace. Default
     * `auto`: per Service while a namespace has at most 3 Services named, else namespace-wide.
     */
    watch: z
      .enum(['auto', 'service', 'namespace', 'cluster'], {
        error: 'expected auto, service, namespace or cluster',
      })
      .optional(),
  });

  /** A registry with TTL leases: every key under `prefix` is one endpoint instance. */
  const etcdDiscovery = z.strictObject({
    /** etcd client URLs, tried in turn. */
    endpoints: z
      .array(
        z
          .string({ error: 'expected an etcd client URL, e.g. "http://127.0.0.1:2379"' })
          .regex(/^https?:\/\/[^/\s]+\/?$/, 'expected an etcd client URL such as "http://127.0.0.1:2379"'),
      )
      .min(1, 'list at least one etcd client URL')
      .default(['http://127.0.0.1:2379']),
    /** Key prefix, e.g. "/services/orders/"; values are "host:port" or JSON { address, weight, node, zone }. */
    prefix: z
      .string({ error: 'expected a key prefix, e.g. "/services/orders/"' })
      .min(1, 'the prefix may not be empty'),
    /** Port for registrations whose address has none. */
    port: z.number({ error: 'expected a port number' }).int().min(1).max(65535).optional(),
    /** Time allowed for one list request. */
    timeout: duration.default('5s'),
    /** etcd authentication; the password may come from $PORTSIDE_ETCD_PASSWORD instead. */
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
  });

  return z
    .strictObject({
      dns: dnsDiscovery.optional(),
      kubernetes: kubernetesDiscovery.optional(),
      etcd: etcdDiscovery.optional(),
    })
    .superRefine((d, ctx) => {
      const sources = [d.dns && 'dns', d.kubernetes && 'kubernetes', d.etcd && 'etcd'].filter(Boolean);
      if (sources.length === 0)
        ctx.addIssue({ code: 'custom', message: 'name one source: "dns", "kubernetes" or "etcd"' });
      if (sources.length > 1)
        ctx.addIssue({ code: 'custom', message: `use one source per cluster, not ${sources.join(' and ')}` });
    });
}

export type DiscoveryConfig = z.output<ReturnType<typeof discoverySchema>>;
export type DnsDiscoveryConfig = NonNullable<DiscoveryConfig['dns']>;
export type KubernetesDiscoveryConfig = NonNullable<DiscoveryConfig['kubernetes']>;
export type EtcdDiscoveryConfig = NonNullable<DiscoveryConfig['etcd']>;
