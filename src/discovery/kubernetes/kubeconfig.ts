/**
 * Where the API server is and how to authenticate to it, read from a kubeconfig or from the
 * pod's service account. Only what the lean client needs is kept; a kubeconfig whose user
 * needs an auth plugin (exec, or an auth-provider such as OIDC) is marked so, and the
 * client then asks @kubernetes/client-node for its credentials.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ApiServerAccess {
  /** `https://host:port` (a path prefix is kept, e.g. behind a proxy). */
  server: string;
  /** PEM CA bundle; undefined means the system's CAs. */
  ca?: Buffer;
  insecureSkipTlsVerify: boolean;
  /** SNI and name checked in the certificate, when not the server's host. */
  tlsServerName?: string;
  /** A fixed bearer token. */
  token?: string;
  /** A token file, re-read when it changes (projected service-account tokens rotate). */
  tokenFile?: string;
  cert?: Buffer;
  key?: Buffer;
  /** Basic auth, still accepted by some test clusters. */
  basicAuth?: string;
  /** The kubeconfig file when its user needs an exec or auth-provider plugin. */
  pluginKubeconfig?: string;
  /** For logs: where this came from. */
  origin: string;
}

/**
 * An explicit kubeconfig file; else the pod's service account when running in a cluster;
 * else the first existing file of $KUBECONFIG, else ~/.kube/config.
 */
export async function loadApiServerAccess(file: string | undefined): Promise<ApiServerAccess> {
  if (file) return readKubeconfig(expandHome(file));
  if (process.env.KUBERNETES_SERVICE_HOST && existsSync(`${SERVICE_ACCOUNT}/token`)) return inCluster();
  const candidates = (process.env.KUBECONFIG ?? '').split(':').filter(Boolean);
  candidates.push(`${homedir()}/.kube/config`);
  const found = candidates.find((f) => existsSync(f));
  if (!found)
    throw new Error('no kubeconfig: not in a cluster, $KUBECONFIG unset and ~/.kube/config missing');
  return readKubeconfig(found);
}

function inCluster(): ApiServerAccess {
  const host = process.env.KUBERNETES_SERVICE_HOST!;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  const caFile = `${SERVICE_ACCOUNT}/ca.crt`;
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ...(existsSync(caFile) ? { ca: readFileSync(caFile) } : {}),
    insecureSkipTlsVerify: false,
    tokenFile: `${SERVICE_ACCOUNT}/token`,
    origin: 'in-cluster service account',
  };
}

type Fields = Record<string, unknown>;

function fields(value: unknown): Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : {};
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function named(list: unknown, name: string | undefined, what: string): Fields {
  const entry = (Array.isArray(list) ? list : []).find((e) => fields(e).name === name);
  if (!entry) throw new Error(`no ${what} named "${name ?? ''}"`);
  return fields(entry);
}

async function readKubeconfig(file: string): Promise<ApiServerAccess> {
  let document: unknown;
  try {
    const source = readFileSync(file, 'utf8');
    // Loaded here only: the proxy's own config is parsed in a child process, so the YAML
    // parser is otherwise never resident.
    const { parse } = await import('yaml');
    document = parse(source);
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
  const config = fields(document);
  const base = dirname(file);
  const path = (p: string) => (isAbsolute(p) ? p : join(base, p));
  const contextName = text(config['current-context']);
  if (!contextName) throw new Error(`kubeconfig ${file} has no current cluster`);
  const context = fields(named(config.contexts, contextName, 'context').context);
  const cluster = fields(named(config.clusters, text(context.cluster), 'cluster').cluster);
  const user = text(context.user)
    ? fields(named(config.users, text(context.user), 'user').user)
    : ({} as Fields);
  const server = text(cluster.server);
  if (!server) throw new Error(`kubeconfig ${file}: cluster has no server`);

  const pem = (data: unknown, fileKey: unknown): Buffer | undefined => {
    if (text(data)) return Buffer.from(data as string, 'base64');
    if (text(fileKey)) return readFileSync(path(fileKey as string));
    return undefined;
  };
  const access: ApiServerAccess = {
    server: server.replace(/\/+$/, ''),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    origin: file,
  };
  const ca = pem(cluster['certificate-authority-data'], cluster['certificate-authority']);
  if (ca) access.ca = ca;
  if (text(cluster['tls-server-name'])) access.tlsServerName = cluster['tls-server-name'] as string;
  const cert = pem(user['client-certificate-data'], user['client-certificate']);
  const key = pem(user['client-key-data'], user['client-key']);
  if (cert) access.cert = cert;
  if (key) access.key = key;
  if (text(user.token)) access.token = user.token as string;
  else if (text(user.tokenFile)) access.tokenFile = path(user.tokenFile as string);
  if (text(user.username) && typeof user.password === 'string')
    access.basicAuth = `${user.username}:${user.password}`;
  if (user.exec !== undefined || user['auth-provider'] !== undefined) access.pluginKubeconfig = file;
  return access;
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
