/**
 * Connecting to an API server: the lean client (api.ts) with the access a kubeconfig or the
 * pod's service account gives. @kubernetes/client-node is loaded only for kubeconfigs that
 * need an auth plugin (it takes over a second to import and costs tens of MB).
 */
import type * as KubernetesClient from '@kubernetes/client-node';
import { KubeApi } from './api.js';
import { loadApiServerAccess } from './kubeconfig.js';

export type KubernetesModule = typeof KubernetesClient;

let loading: Promise<KubernetesModule> | undefined;

export function loadKubernetesClient(): Promise<KubernetesModule> {
  loading ??= import('@kubernetes/client-node');
  return loading;
}

/** True once the client library was asked for (lets tests prove startup stays lean). */
export function kubernetesClientRequested(): boolean {
  return loading !== undefined;
}

/** Reads the kubeconfig (see loadApiServerAccess); rejects with a clear reason. */
export async function connectKubernetes(file: string | undefined): Promise<KubeApi> {
  try {
    return new KubeApi(await loadApiServerAccess(file));
  } catch (error) {
    throw new Error(`kubeconfig: ${(error as Error).message}`);
  }
}
