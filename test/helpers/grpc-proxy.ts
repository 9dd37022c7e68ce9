/**
 * Portside set up for the gRPC tests: config text for listeners that route every call to
 * one cluster, and a proxy in front of grpc-js servers with a client channel through it.
 */
import { type EchoClient, echoClient, type GrpcServer, startGrpcServer } from './grpc.js';
import { startProxy, type TestProxy } from './proxy.js';

export interface ListenerOptions {
  /** Extra listener keys, e.g. `accessLog: true` (flow-style YAML). */
  keys?: string[];
  /** Extra route keys, e.g. `retries: { on: [unavailable] }`. */
  route?: string[];
  cluster?: string;
  pathPrefix?: string;
}

/** One `http` listener (a YAML list item) with one route, to `echo` unless told. */
export function grpcListener(name: string, options: ListenerOptions = {}): string {
  const route = [
    `match: { pathPrefix: ${options.pathPrefix ?? '/'} }`,
    `cluster: ${options.cluster ?? 'echo'}`,
    ...(options.route ?? []),
  ];
  const keys = [`name: ${name}`, 'address: "127.0.0.1:0"', 'protocol: http', ...(options.keys ?? [])];
  return `  - { ${keys.join(', ')}, routes: [{ ${route.join(', ')} }] }`;
}

/** The cluster `echo` of `servers`, with extra cluster keys. */
export function echoCluster(servers: readonly GrpcServer[], keys: string[] = []): string {
  const endpoints = servers.map((s) => `"127.0.0.1:${s.port}"`).join(', ');
  return `  - { ${[`name: echo, endpoints: [${endpoints}]`, ...keys].join(', ')} }`;
}

export interface GrpcConfigOptions extends ListenerOptions {
  /** Extra keys of the `echo` cluster. */
  clusterKeys?: string[];
  /** More listeners (YAML list items, from grpcListener). */
  listeners?: string[];
}

/** A listener `grpc` routing every call to the cluster `echo` of `servers`. */
export function grpcConfig(servers: readonly GrpcServer[], options: GrpcConfigOptions = {}): string {
  const listeners = [grpcListener('grpc', options), ...(options.listeners ?? [])];
  return `listeners:\n${listeners.join('\n')}\nclusters:\n${echoCluster(servers, options.clusterKeys)}\n`;
}

export interface GrpcSetup {
  servers: GrpcServer[];
  proxy: TestProxy;
  /** A channel to the listener `grpc`. */
  client: EchoClient;
  close(): Promise<void>;
}

/** grpc-js servers named `names`, Portside in front of them (grpcConfig) and a client. */
export async function startGrpcSetup(names: string[], options: GrpcConfigOptions = {}): Promise<GrpcSetup> {
  const servers: GrpcServer[] = [];
  for (const name of names) servers.push(await startGrpcServer(name));
  const proxy = await startProxy(grpcConfig(servers, options));
  const client = echoClient(proxy.port('grpc'));
  return {
    servers,
    proxy,
    client,
    async close() {
      client.close();
      await proxy.stop();
      for (const s of servers) await s.close();
    },
  };
}
