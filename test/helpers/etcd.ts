import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './wait.js';

/** A free port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export const etcdBinary = '/usr/bin/etcd';

/** A real single-member etcd (Debian's etcd-server) on loopback, with its own data dir. */
export class EtcdServer {
  private child: ChildProcess | undefined;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'portside-etcd-'));

  private constructor(
    readonly clientPort: number,
    private readonly peerPort: number,
  ) {}

  static async start(): Promise<EtcdServer> {
    const server = new EtcdServer(await freePort(), await freePort());
    await server.up();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  /** Starts (or restarts) etcd on the same ports and data, and waits until it answers. */
  async up(): Promise<void> {
    const client = this.url;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    this.child = spawn(
      etcdBinary,
      [
        '--name',
        'test',
        '--data-dir',
        this.dataDir,
        '--listen-client-urls',
        client,
        '--advertise-client-urls',
        client,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        `test=${peer}`,
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    );
    await eventually(async () => (await fetch(`${this.url}/health`)).ok, {
      timeoutMs: 15_000,
      intervalMs: 50,
      what: 'etcd to answer',
    });
  }

  async down(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async close(): Promise<void> {
    await this.down();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async call(path: string, body: unknown): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`etcd ${path}: HTTP ${response.status}`);
    return (await response.json()) as Record<string, unknown>;
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.call('/v3/kv/put', { key: b64(key), value: b64(value), ...(lease ? { lease } : {}) });
  }

  async remove(key: string): Promise<void> {
    await this.call('/v3/kv/deleterange', { key: b64(key) });
  }

  /** Grants a lease with this TTL (seconds) and returns its id. */
  async grantLease(ttlSeconds: number): Promise<string> {
    const result = await this.call('/v3/lease/grant', { TTL: ttlSeconds });
    return String(result.ID);
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
