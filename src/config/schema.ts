/**
 * The config file's schema: every key, its type and its default, in one place.
 * Durations and addresses stay strings after validation (normalised), so that the
 * effective config prints back as valid YAML; the runtime converts them with `ms()`
 * and `parseAddress()`.
 */
import { z } from 'zod';
import { admin } from './admin-schema.js';
import { balancingSchema, selfLocality } from './balancing-schema.js';
import { catalogSchema } from './catalog-schema.js';
import { discoverySchema } from './discovery-schema.js';
import { clusterHealthFields } from './health-schema.js';
import { httpSchemas } from './http-schema.js';
import { registrySchema } from './registry-schema.js';
import { clusterTls, listenerTls, serverName } from './tls-schema.js';
import { type AddressOptions, formatAddress, parseAddress, parseDuration } from './values.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export const name = z
  .string({ error: 'expected a name (letters, digits, "_", "." or "-")' })
  .regex(
    NAME,
    'names start with a letter or digit and contain only letters, digits, "_", "." or "-" (max 63)',
  );

/** A duration string with a unit: "500ms", "1s", "10m", "3h", "1m30s". */
export const duration = z
  .string({ error: 'expected a duration with a unit, e.g. "500ms", "1s", "10m"' })
  .superRefine((text, ctx) => {
    const parsed = parseDuration(text);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
  });

function address(options: AddressOptions) {
  return z
    .union([z.string(), z.number()], { error: 'expected an address "host:port"' })
    .transform((input, ctx) => {
      const parsed = parseAddress(input, options);
      if (parsed.ok) return formatAddress(parsed.value);
      ctx.addIssue({ code: 'custom', message: parsed.message });
      return z.NEVER;
    });
}

/** Where a listener binds. A bare port means 127.0.0.1:port; port 0 asks the OS for a free port. */
export const listenAddress = address({ defaultHost: '127.0.0.1', allowPortZero: true });
/** An upstream endpoint address. */
export const endpointAddress = address({});

export const endpoint = z.preprocess(
  (value) => (typeof value === 'string' || typeof value === 'number' ? { address: value } : value),
  z.strictObject({
    address: endpointAddress,
    weight: z.number().int().min(1).max(1_000_000).default(1),
    /** Locality labels, used by `balancing.locality`. */
    node: z.string().optional(),
    zone: z.string().optional(),
  }),
);

export const balancing = balancingSchema(duration);

export const cluster = z.strictObject({
  name,
  endpoints: z.array(endpoint).optional(),
  /** Where endpoints come from when not listed in `endpoints` (DNS, Kubernetes). */
  discovery: discoverySchema(duration).optional(),
  balancing: balancing.default({ policy: 'round_robin', locality: 'any', slowStart: '0s' }),
  /** What an http listener speaks to the endpoints: HTTP/1.1, HTTP/2 (h2c), or the client's own protocol. */
  upstreamProtocol: z
    .enum(['http1', 'http2', 'auto'], { error: 'upstreamProtocol is http1, http2 or auto' })
    .default('auto'),
  /** Originate TLS to the endpoints (HTTP/1.1, HTTP/2 and tcp listeners alike). */
  tls: clusterTls.optional(),
  /** healthCheck, outlierDetection, panicThreshold. */
  ...clusterHealthFields(duration),
});

export const tcpListener = z.strictObject({
  name,
  address: listenAddress,
  protocol: z.literal('tcp').default('tcp'),
  cluster: name,
  /** Time allowed to establish each upstream connection attempt. */
  connectTimeout: duration.default('5s'),
  /** Close a proxied connection after this long without bytes in either direction. */
  idleTimeout: duration.default('1h'),
  /** Terminate TLS: clients speak TLS, the cluster gets the plain bytes (unless it originates TLS itself). */
  tls: listenerTls.optional(),
});

/** A duration that must be above zero: a session that never idles out would be held forever. */
const positiveDuration = duration.refine((text) => {
  const parsed = parseDuration(text);
  return !parsed.ok || parsed.value > 0;
}, 'must be above 0');

/**
 * UDP: one session per client address and port, each with its own connected upstream socket;
 * datagrams pass unchanged both ways.
 */
export const udpListener = z.strictObject({
  name,
  address: listenAddress,
  protocol: z.literal('udp'),
  cluster: name,
  /** End a session after this long without a datagram in either direction. */
  idleTimeout: positiveDuration.default('30s'),
  /** Sessions open at once; datagrams from further clients are dropped (and counted) until one ends. */
  maxSessions: z.number().int().min(1).max(1_000_000).default(10_000),
  /**
   * For request/response protocols (DNS): a datagram the endpoint has not answered within this
   * counts as a failure (outlier detection), an answer as a success. Unset: no answer is
   * expected (syslog, StatsD).
   */
  replyTimeout: positiveDuration.optional(),
});

const { registry, registrations } = registrySchema(duration);

const http = httpSchemas({ name, duration, listenAddress });
export const httpListener = http.httpListener;

/** Every Service of some namespaces as a cluster of its own, made from one template. */
export const catalog = catalogSchema(
  name,
  duration,
  // Upstream TLS is loaded per config cluster (TlsRegistry); catalog clusters do not have it yet.
  cluster.omit({ name: true, endpoints: true, discovery: true, tls: true }),
  http.routePolicy,
);

/**
 * TLS passthrough: the connection goes, undecrypted, to the cluster its ClientHello's server
 * name (SNI) selects, so one port can front several TLS services.
 */
export const tlsPassthroughListener = z
  .strictObject({
    name,
    address: listenAddress,
    protocol: z.literal('tls'),
    /** Exact names first, then `*.` names; the first route listing a name keeps it. */
    routes: z
      .array(
        z.strictObject({
          sni: z.array(serverName).min(1, 'list the server names this route takes'),
          cluster: name,
        }),
      )
      .default([]),
    /** For clients whose name no route lists (or that send none); without it they are refused. */
    defaultCluster: name.optional(),
    /** Time a client has to send its ClientHello. */
    helloTimeout: duration.default('10s'),
    connectTimeout: duration.default('5s'),
    idleTimeout: duration.default('1h'),
  })
  .refine((l) => l.routes.length > 0 || l.defaultCluster !== undefined, {
    message: 'a tls listener needs routes ({ sni: [names], cluster }) or a defaultCluster',
    path: ['routes'],
  });

/**
 * `protocol` chooses the form; without one a listener is tcp. A key of the other form
 * (tcp's `cluster` on an http listener, http's `routes` on a tcp one) gets a hint instead of
 * a bare "unknown field".
 */
export const listener = z.preprocess(
  (value, ctx) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const input = { ...(value as Record<string, unknown>) };
    input.protocol ??= 'tcp';
    if (input.protocol === 'http' && 'cluster' in input) {
      delete input.cluster;
      ctx.issues.push({
        code: 'custom',
        input: value,
        path: ['cluster'],
        message:
          'an http listener sends requests to clusters from its routes: write routes: [{ match: {...}, cluster: NAME }]',
      });
    } else if ((input.protocol === 'tcp' || input.protocol === 'udp') && 'routes' in input) {
      delete input.routes;
      ctx.issues.push({
        code: 'custom',
        input: value,
        path: ['routes'],
        message: `routes are for http listeners: add protocol: http (${input.protocol} listeners take one "cluster")`,
      });
    }
    return input;
  },
  z.discriminatedUnion('protocol', [tcpListener, httpListener, udpListener, tlsPassthroughListener], {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? 'protocol must be "tcp" (the default), "http", "udp" or "tls"'
        : undefined,
  }),
);

export const config = z.strictObject({
  listeners: z.array(listener).default([]),
  clusters: z.array(cluster).default([]),
  /** This node's name and zone, for `balancing.locality`; default from NODE_NAME / ZONE. */
  node: selfLocality,
  /** On SIGTERM (or a listener's removal), how long open connections may take to finish. */
  drainTimeout: duration.default('30s'),
  /**
   * Threads that serve the listeners: 1 (the default) runs everything on one event loop;
   * N > 1 or `auto` (one per core) keeps discovery, health and admin in the main thread
   * and runs the listeners in N worker threads (README, Workers).
   */
  workers: z
    .union([z.number().int().min(1).max(256), z.literal('auto')], {
      error: 'expected a number of worker threads (1 to 256) or "auto"',
    })
    .default(1),
  /** The admin API and dashboard; omitted means no admin server. */
  admin: admin.optional(),
  /** Every Kubernetes Service of some namespaces, routable by Host (docs/catalog.md). */
  catalog: catalog.optional(),
  /** Where `register` entries are written (etcd); omitted means a local etcd on 127.0.0.1:2379. */
  registry: registry.optional(),
  /** Local applications this node announces in the registry, each with a lease and a health check. */
  register: registrations.default([]),
});

export type Config = z.output<typeof config>;
export type ClusterConfig = z.output<typeof cluster>;
export type CatalogConfig = z.output<typeof catalog>;
export type ListenerConfig = z.output<typeof listener>;
export type TcpListenerConfig = z.output<typeof tcpListener>;
export type UdpListenerConfig = z.output<typeof udpListener>;
export type TlsPassthroughListenerConfig = z.output<typeof tlsPassthroughListener>;
export type { HttpListenerConfig } from './http-schema.js';
export type EndpointConfig = z.output<typeof endpoint>;
export type BalancingConfig = z.output<typeof balancing>;
