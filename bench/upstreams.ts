/**
 * The upstreams every target forwards to: an HTTP server (nginx when installed, else the
 * built-in Node one), the TCP bulk source for L4 throughput, and the h2c (HTTP/2 and gRPC)
 * server of the h2 scenarios. They run on the load CPUs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LARGE_BODY_BYTES, SMALL_BODY } from './payloads.js';
import { nginxUpstreamConfig } from './peer-configs.js';
import {
  benchScript,
  commandExists,
  firstLine,
  freePort,
  type Pinning,
  type Started,
  startProcess,
  waitForPort,
} from './processes.js';

export interface Upstreams {
  /** "nginx" or "node": which server answers HTTP. */
  kind: 'nginx' | 'node';
  httpPort: number;
  bulkPort: number;
  /** The h2c upstream (bench/h2-upstream.ts), when an h2 scenario runs. */
  h2Port: number | undefined;
  processes: Started[];
}

/** The node:http2 upstream of the h2 scenarios (small responses and gRPC unary). */
async function startH2Upstream(pinning: Pinning): Promise<Started> {
  const [node, args] = benchScript('h2-upstream');
  return startProcess('h2 upstream', node, args, pinning.load);
}

/** `prefer` "auto" takes nginx when the binary exists. */
export async function startUpstreams(
  dir: string,
  pinning: Pinning,
  prefer: 'auto' | 'nginx' | 'node',
  withH2: boolean,
): Promise<Upstreams> {
  const h2 = withH2 ? await startH2Upstream(pinning) : undefined;
  const h2Port = h2 ? (JSON.parse(await firstLine(h2)) as { port: number }).port : undefined;
  const h2Processes = h2 ? [h2] : [];
  const useNginx = prefer === 'nginx' || (prefer === 'auto' && commandExists('nginx'));
  const [node, nodeArgs] = benchScript('node-upstream');
  const nodeUpstream = startProcess(
    'node upstream',
    node,
    useNginx ? nodeArgs : [...nodeArgs, '--http'],
    pinning.load,
  );
  const ports = JSON.parse(await firstLine(nodeUpstream)) as { http?: number; bulk: number };
  if (!useNginx) {
    const processes = [nodeUpstream, ...h2Processes];
    return { kind: 'node', httpPort: ports.http!, bulkPort: ports.bulk, h2Port, processes };
  }
  const httpPort = await freePort();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '64k'), Buffer.alloc(LARGE_BODY_BYTES, 'x'));
  const config = join(dir, 'upstream.conf');
  writeFileSync(config, nginxUpstreamConfig(dir, httpPort, SMALL_BODY));
  const nginx = startProcess('nginx upstream', 'nginx', ['-p', dir, '-c', config], pinning.load);
  await waitForPort(nginx, httpPort);
  const processes = [nodeUpstream, nginx, ...h2Processes];
  return { kind: 'nginx', httpPort, bulkPort: ports.bulk, h2Port, processes };
}
