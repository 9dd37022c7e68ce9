/**
 * The top-level `catalog`: every Kubernetes Service of some namespaces (or of the whole
 * cluster), optionally filtered by a label selector, routable by Host on the HTTP listeners
 * named, each Service port a cluster made from one template. Nobody lists 10,000 clusters.
 * docs/catalog.md describes the routing; src/core/catalog.ts runs it.
 */
import { z } from 'zod';
import { parseLabelSelector } from '../discovery/kubernetes/label-selector.js';

/** A namespace name (DNS-1123 label). */
const namespace = z
  .string({ error: 'expected a namespace name' })
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'namespaces are lowercase letters, digits and "-" (max 63)');

const labelSelector = z
  .string({ error: 'expected a label selector, e.g. "app.kubernetes.io/part-of=shop,tier!=internal"' })
  .superRefine((text, ctx) => {
    const parsed = parseLabelSelector(text);
    if ('error' in parsed) ctx.addIssue({ code: 'custom', message: `label selector ${parsed.error}` });
  });

const DOMAIN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * `name` and `duration` are schema.ts's; `clusterTemplate` its cluster schema without name and
 * endpoints; `routePolicy` a route's timeouts, retries and header edits. Passed in so that
 * this file does not import schema.ts back (an import cycle).
 */
export function catalogSchema<
  N extends z.ZodType<string>,
  D extends z.ZodType<string>,
  C extends z.ZodObject,
  R extends z.ZodObject,
>(name: N, duration: D, clusterTemplate: C, routePolicy: R) {
  const kubernetes = z.strictObject({
    /** `all` watches every namespace (one cluster-wide watch; needs a ClusterRole). */
    namespaces: z.union(
      [z.literal('all'), z.array(namespace).min(1, 'list at least one namespace, or write all')],
      {
        error: 'expected a list of namespaces, or all',
      },
    ),
    /** Only Services whose labels match (kubectl's `-l` syntax); applied to the watched Services. */
    selector: labelSelector.optional(),
    /** Default: in-cluster service account, else $KUBECONFIG, else ~/.kube/config. */
    kubeconfig: z.string().min(1).optional(),
    /** The cluster's DNS domain: `svc.ns.svc.<clusterDomain>` Hosts route too. */
    clusterDomain: z
      .string({ error: 'expected a DNS domain, e.g. cluster.local' })
      .regex(DOMAIN, 'expected a lower-case DNS domain, e.g. cluster.local')
      .default('cluster.local'),
  });

  return z.strictObject({
    kubernetes,
    /** HTTP listeners that route the catalog's Hosts (after their own routes). */
    listeners: z.array(name).min(1, 'name at least one http listener that routes the catalog'),
    /** Every catalog cluster's settings: balancing, health checks, outlier detection, upstreamProtocol. */
    template: clusterTemplate.prefault({} as z.input<C>),
    /** The route every catalog request takes: timeout, perTryTimeout, retries, header edits. */
    route: routePolicy.prefault({} as z.input<R>),
    /**
     * When a Service port's cluster is built: at its first request (`firstRequest`, the
     * default: an idle Service costs its watched objects only), or as soon as the Service
     * appears (`serviceAdded`: health checks run before any request). Both free it when
     * the Service goes.
     */
    build: z
      .enum(['firstRequest', 'serviceAdded'], { error: 'build is firstRequest or serviceAdded' })
      .default('firstRequest'),
    /**
     * A Service port's cluster without a request for this long (up to twice as long) is
     * retired, and built again at the next request. Default: kept while the Service exists.
     */
    idleTimeout: duration.optional(),
  });
}
