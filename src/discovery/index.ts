import type { ClusterConfig } from '../config/schema.js';
import { ms } from '../config/values.js';
import type { Logger } from '../core/log.js';
import { DnsSource } from './dns.js';
import { defaultNamespace } from './kubernetes/client.js';
import { KubernetesSource } from './kubernetes/source.js';
import { KubernetesWatches } from './kubernetes/watches.js';
import type { DiscoverySource } from './source.js';
import { StaticSource } from './static.js';

export interface DiscoveryDeps {
  logger: Logger;
  /**
   * Shared Kubernetes watches; owned by whoever outlives config generations (the proxy), so
   * a reload keeps its watches. Default: one per process.
   */
  kubernetes?: KubernetesWatches;
}

let processWatches: KubernetesWatches | undefined;

/**
 * The process-wide Kubernetes watches, created on first use with a logger that is not bound
 * to one cluster (a watch serves every cluster naming its Service).
 */
export function processKubernetesWatches(logger: Logger): KubernetesWatches {
  processWatches ??= new KubernetesWatches(logger);
  return processWatches;
}

/** The discovery source a cluster's config asks for. Nothing starts until `start()`. */
export function createDiscoverySource(cluster: ClusterConfig, deps: DiscoveryDeps): DiscoverySource {
  const { dns, kubernetes } = cluster.discovery ?? {};
  if (dns) {
    return new DnsSource({
      name: dns.name,
      type: dns.type,
      port: dns.port,
      refreshMs: dns.refresh === undefined ? undefined : ms(dns.refresh),
      minRefreshMs: ms(dns.minRefresh),
      maxRefreshMs: ms(dns.maxRefresh),
      timeoutMs: ms(dns.timeout),
      servers: dns.servers,
      logger: deps.logger,
    });
  }
  if (kubernetes) {
    const key = {
      namespace: kubernetes.namespace ?? defaultNamespace(),
      service: kubernetes.service,
      ...(kubernetes.kubeconfig ? { kubeconfig: kubernetes.kubeconfig } : {}),
    };
    return new KubernetesSource(
      key,
      kubernetes.port,
      deps.kubernetes ?? processKubernetesWatches(deps.logger),
      deps.logger,
    );
  }
  return new StaticSource(cluster.endpoints ?? []);
}
