/**
 * Loading @kubernetes/client-node (lazily: it takes over a second to import, and only
 * configs with a Kubernetes source need it) and finding the kubeconfig and namespace.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import type * as KubernetesClient from '@kubernetes/client-node';

export type KubernetesModule = typeof KubernetesClient;
export type KubeConfig = KubernetesClient.KubeConfig;

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

let loading: Promise<KubernetesModule> | undefined;

export function loadKubernetesClient(): Promise<KubernetesModule> {
  loading ??= import('@kubernetes/client-node');
  return loading;
}

/** True once the client library was asked for (lets tests prove startup stays lean). */
export function kubernetesClientRequested(): boolean {
  return loading !== undefined;
}

/**
 * An explicit kubeconfig file; else the pod's service account when running in a cluster;
 * else $KUBECONFIG, else ~/.kube/config (the library's default order for the last two).
 */
export function loadKubeConfig(k8s: KubernetesModule, file: string | undefined): KubeConfig {
  const config = new k8s.KubeConfig();
  if (file) {
    config.loadFromFile(expandHome(file));
  } else if (process.env.KUBERNETES_SERVICE_HOST && existsSync(`${SERVICE_ACCOUNT}/token`)) {
    config.loadFromCluster();
  } else {
    const explicit = process.env.KUBECONFIG;
    const home = `${homedir()}/.kube/config`;
    if (!explicit && !existsSync(home)) {
      throw new Error('no kubeconfig: not in a cluster, $KUBECONFIG unset and ~/.kube/config missing');
    }
    config.loadFromDefault();
  }
  if (!config.getCurrentCluster())
    throw new Error(`kubeconfig ${file ?? ''} has no current cluster`.replace('  ', ' '));
  return config;
}

/** The library, a loaded kubeconfig and the two API clients discovery uses. */
export interface KubeClient {
  readonly k8s: KubernetesModule;
  readonly config: KubeConfig;
  readonly discovery: KubernetesClient.DiscoveryV1Api;
  readonly core: KubernetesClient.CoreV1Api;
  /**
   * Bounds the lists in flight: thousands of Services starting (or re-listing after an API
   * server restart) at once would otherwise open thousands of connections together.
   */
  readonly lists: ConcurrencyLimit;
}

/** Runs at most `limit` calls at once; the others wait their turn, in order. */
export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await call();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

const LISTS_IN_FLIGHT = 32;

/** Loads the library and the kubeconfig (see loadKubeConfig); rejects with a clear reason. */
export async function connectKubernetes(file: string | undefined): Promise<KubeClient> {
  let k8s: KubernetesModule;
  try {
    k8s = await loadKubernetesClient();
  } catch (error) {
    throw new Error(`cannot load @kubernetes/client-node: ${(error as Error).message}`);
  }
  let config: KubeConfig;
  try {
    config = loadKubeConfig(k8s, file);
  } catch (error) {
    throw new Error(`kubeconfig: ${(error as Error).message}`);
  }
  return {
    k8s,
    config,
    discovery: config.makeApiClient(k8s.DiscoveryV1Api),
    core: config.makeApiClient(k8s.CoreV1Api),
    lists: new ConcurrencyLimit(LISTS_IN_FLIGHT),
  };
}

/** The namespace a Kubernetes source uses when its config names none. */
export function defaultNamespace(): string {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    const own = readFileSync(`${SERVICE_ACCOUNT}/namespace`, 'utf8').trim();
    if (own) return own;
  } catch {
    // Not running in a pod.
  }
  return 'default';
}

function expandHome(file: string): string {
  return file === '~' || file.startsWith('~/') ? `${homedir()}${file.slice(1)}` : file;
}
