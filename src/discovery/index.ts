import { etcdPassword } from '../config/etcd-password.js';
import type { ClusterConfig } from '../config/schema.js';
import { ms } from '../config/values.js';
import type { Logger } from '../core/log.js';
import { DnsAnswers, DnsSource } from './dns.js';
import { EtcdSource } from './etcd.js';
import { defaultNamespace } from './kubernetes/kubeconfig.js';
import { KubernetesSource } from './kubernetes/source.js';
import { KubernetesWatches } from './kubernetes/watches.js';
import type { DiscoverySource } from './source.js';
import { StaticSource } from './static.js';

export interface DiscoveryDeps {
  logger: Logger;
  /**
   * Shared Kubernetes watches, owned by the cluster manager (one per proxy), so clusters
   * naming one Service share its watch. Default: watches of this source's own.
   */
  kubernetes?: KubernetesWatches;
  /** Last good DNS answers, owned by the cluster manager. Default: the source's own. */
  dnsAnswers?: DnsAnswers;
}

/**
 * What every discovery source of one proxy shares, owned by its cluster manager (never a
 * module: state that outlives a config generation has one owner). The Kubernetes watches
 * are created on first use, with a logger not bound to one cluster (a watch serves every
 * cluster naming its Service).
 */
export class SharedDiscovery {
  readonly dnsAnswers = new DnsAnswers();
  private watches: KubernetesWatches | undefined;

  constructor(private readonly logger: Logger) {}

  get kubernetes(): KubernetesWatches {
    this.watches ??= new KubernetesWatches(this.logger);
    return this.watches;
  }

  /** Aborts every watch at once and closes API connections (shutdown). */
  stop(): void {
    this.watches?.stop();
  }

  /** The deps for one cluster's source; the watches are created only if the cluster uses Kubernetes. */
  depsFor(cluster: ClusterConfig, logger: Logger): DiscoveryDeps {
    return {
      logger,
      dnsAnswers: this.dnsAnswers,
      ...(cluster.discovery?.kubernetes ? { kubernetes: this.kubernetes } : {}),
    };
  }
}

/** The discovery source a cluster's config asks for. Nothing starts until `start()`. */
export function createDiscoverySource(cluster: ClusterConfig, deps: DiscoveryDeps): DiscoverySource {
  const { dns, kubernetes, etcd } = cluster.discovery ?? {};
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
      answers: deps.dnsAnswers,
    });
  }
  if (kubernetes) {
    const key = {
      namespace: kubernetes.namespace ?? defaultNamespace(),
      service: kubernetes.service,
      ...(kubernetes.kubeconfig ? { kubeconfig: kubernetes.kubeconfig } : {}),
      ...(kubernetes.watch ? { watch: kubernetes.watch } : {}),
    };
    return new KubernetesSource(
      key,
      kubernetes.port,
      deps.kubernetes ?? new KubernetesWatches(deps.logger),
      deps.logger,
    );
  }
  if (etcd) {
    return new EtcdSource(
      {
        endpoints: etcd.endpoints,
        prefix: etcd.prefix,
        defaultPort: etcd.port,
        requestTimeoutMs: ms(etcd.timeout),
        username: etcd.username,
        password: etcdPassword(etcd),
      },
      deps.logger,
    );
  }
  return new StaticSource(cluster.endpoints ?? []);
}
