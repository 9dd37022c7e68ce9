/** Portside config files for the bench, generated as YAML for the real CLI. */
import { stringify } from 'yaml';
import type { L4Ports } from './peer-configs.js';
import type { TlsFiles } from './tls-certificate.js';

const address = (port: number) => `127.0.0.1:${port}`;

/**
 * The top-level `workers` key (worker threads sharing the listeners with SO_REUSEPORT), for
 * the `*-workers` scenarios; absent otherwise, so that the other scenarios run on builds
 * without it.
 */
const workersKey = (workers: number | undefined) => (workers === undefined ? {} : { workers });

/** Two TCP listeners: HTTP traffic to the HTTP upstream, and the bulk stream to the bulk source. */
export function portsideL4Config(ports: L4Ports, upstreams: L4Ports, workers?: number): string {
  return stringify({
    ...workersKey(workers),
    listeners: [
      { name: 'bench-http', address: address(ports.http), protocol: 'tcp', cluster: 'web' },
      { name: 'bench-bulk', address: address(ports.bulk), protocol: 'tcp', cluster: 'bulk' },
    ],
    clusters: [
      { name: 'web', endpoints: [address(upstreams.http)] },
      { name: 'bulk', endpoints: [address(upstreams.bulk)] },
    ],
    // The bench stops Portside with SIGTERM; a short drain lets --cpu-prof write its profile.
    drainTimeout: '1s',
  });
}

/** One HTTP listener with a catch-all route to the HTTP upstream; with `tls`, terminating TLS. */
export function portsideL7Config(
  port: number,
  upstreamPort: number,
  tls?: TlsFiles,
  workers?: number,
): string {
  const listener = {
    name: 'bench-web',
    address: address(port),
    protocol: 'http',
    routes: [{ cluster: 'web' }],
  };
  return stringify({
    ...workersKey(workers),
    listeners: [tls ? { ...listener, tls: { certificate: tls.certificate, key: tls.key } } : listener],
    clusters: [{ name: 'web', endpoints: [address(upstreamPort)] }],
    drainTimeout: '1s',
  });
}

/** An HTTP listener (h2c clients are told apart by their preface) to an HTTP/2 cluster. */
export function portsideH2Config(port: number, upstreamPort: number): string {
  return stringify({
    listeners: [{ name: 'bench-h2', address: address(port), protocol: 'http', routes: [{ cluster: 'h2' }] }],
    clusters: [{ name: 'h2', endpoints: [address(upstreamPort)], upstreamProtocol: 'http2' }],
    drainTimeout: '1s',
  });
}
