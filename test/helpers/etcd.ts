import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
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
    private readonly tls?: ServerTls,
  ) {}

  /** With `tls`, clients speak https to it (the peer port stays plain). */
  static async start(options: { tls?: ServerTls } = {}): Promise<EtcdServer> {
    const server = new EtcdServer(await freePort(), await freePort(), options.tls);
    await server.up();
    return server;
  }

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.clientPort}`;
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
        ...(this.tls ? ['--cert-file', this.tls.certificate, '--key-file', this.tls.key] : []),
        // Clients must show a certificate signed by the same CA.
        ...(this.tls ? ['--client-cert-auth', '--trusted-ca-file', this.tls.ca] : []),
      ],
      { stdio: 'ignore' },
    );
    await eventually(
      async () =>
        this.tls ? httpsOk(`${this.url}/health`, this.tls) : (await fetch(`${this.url}/health`)).ok,
      {
        timeoutMs: 15_000,
        intervalMs: 50,
        what: 'etcd to answer',
      },
    );
  }

  async down(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops etcd and empties its data dir: the next up() is a new cluster that knows no lease. */
  async wipe(): Promise<void> {
    await this.down();
    rmSync(this.dataDir, { recursive: true, force: true });
    mkdirSync(this.dataDir);
  }

  async close(): Promise<void> {
    await this.down();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async call(path: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.url}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: token ? { authorization: token } : {},
    });
    if (!response.ok) throw new Error(`etcd ${path}: HTTP ${response.status}`);
    return (await response.json()) as Record<string, unknown>;
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.call('/v3/kv/put', { key: b64(key), value: b64(value), ...(lease ? { lease } : {}) });
  }

  async remove(key: string): Promise<void> {
    await this.call('/v3/kv/deleterange', { key: b64(key) });
  }

  /** The value stored at `key`, or undefined. */
  async get(key: string, token?: string): Promise<string | undefined> {
    const result = (await this.call('/v3/kv/range', { key: b64(key) }, token)) as {
      kvs?: { value?: string }[];
    };
    const value = result.kvs?.[0]?.value;
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString();
  }

  /** The lease a key is attached to ("0" for none), or undefined when the key is missing. */
  async leaseOf(key: string): Promise<string | undefined> {
    const result = (await this.call('/v3/kv/range', { key: b64(key) })) as { kvs?: { lease?: string }[] };
    const kv = result.kvs?.[0];
    return kv ? (kv.lease ?? '0') : undefined;
  }

  /** Ids of the leases etcd holds. */
  async leases(): Promise<string[]> {
    const result = (await this.call('/v3/lease/leases', {})) as { leases?: { ID: string }[] };
    return (result.leases ?? []).map((l) => String(l.ID));
  }

  /** Creates root with this password and turns authentication on; returns a token for it. */
  async enableAuth(password: string): Promise<string> {
    await this.call('/v3/auth/user/add', { name: 'root', password });
    await this.call('/v3/auth/role/add', { name: 'root' });
    await this.call('/v3/auth/user/grant', { user: 'root', role: 'root' });
    await this.call('/v3/auth/enable', {});
    const result = await this.call('/v3/auth/authenticate', { name: 'root', password });
    return String(result.token);
  }

  /** Grants a lease with this TTL (seconds) and returns its id. */
  async grantLease(ttlSeconds: number): Promise<string> {
    const result = await this.call('/v3/lease/grant', { TTL: ttlSeconds });
    return String(result.ID);
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A Portside config with one TCP listener "orders" routing to a cluster discovered in etcd under `prefix`. */
export function discoveringConfig(etcdUrl: string, prefix = '/services/orders/'): string {
  return `listeners:
  - { name: orders, address: 127.0.0.1:0, cluster: orders }
clusters:
  - name: orders
    discovery:
      etcd: { endpoints: ["${etcdUrl}"], prefix: ${prefix} }
`;
}

/** Files of a server certificate for 127.0.0.1, a client certificate, and the CA that signed both. */
export interface ServerTls {
  ca: string;
  certificate: string;
  key: string;
  clientCertificate: string;
  clientKey: string;
}

function httpsOk(url: string, tls: ServerTls): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsGet(
      url,
      {
        ca: readFileSync(tls.ca),
        cert: readFileSync(tls.clientCertificate),
        key: readFileSync(tls.clientKey),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
  });
}

/** A throwaway CA and the server and client certificates it signed (openssl CLI), in `dir`. */
export function makeServerTls(dir: string): ServerTls {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=portside-test-ca',
  );
  openssl('req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=etcd');
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  const sign = (name: string, ...extra: string[]) =>
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-out',
      file(`${name}.crt`),
      '-days',
      '1',
      ...extra,
    );
  sign('server', '-extfile', file('san.ext'));
  openssl('req', ...ec, '-keyout', file('client.key'), '-out', file('client.csr'), '-subj', '/CN=portside');
  sign('client');
  return {
    ca: file('ca.crt'),
    certificate: file('server.crt'),
    key: file('server.key'),
    clientCertificate: file('client.crt'),
    clientKey: file('client.key'),
  };
}
