/**
 * The upstreams every target forwards to: an HTTP server (nginx when installed, else the
 * built-in Node one) and the TCP bulk source for L4 throughput. They run on the load CPUs.
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
  processes: Started[];
}

/** `prefer` "auto" takes nginx when the binary exists. */
export async function startUpstreams(
  dir: string,
  pinning: Pinning,
  prefer: 'auto' | 'nginx' | 'node',
): Promise<Upstreams> {
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
    return { kind: 'node', httpPort: ports.http!, bulkPort: ports.bulk, processes: [nodeUpstream] };
  }
  const httpPort = await freePort();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '64k'), Buffer.alloc(LARGE_BODY_BYTES, 'x'));
  const config = join(dir, 'upstream.conf');
  writeFileSync(config, nginxUpstreamConfig(dir, httpPort, SMALL_BODY));
  const nginx = startProcess('nginx upstream', 'nginx', ['-p', dir, '-c', config], pinning.load);
  await waitForPort(nginx, httpPort);
  return { kind: 'nginx', httpPort, bulkPort: ports.bulk, processes: [nodeUpstream, nginx] };
}
