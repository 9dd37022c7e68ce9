/**
 * A real DNS server for tests: dnsmasq on 127.0.0.1 at a free port, answering A records from
 * a hosts file (changed live with SIGHUP) and SRV records from its config (changed by a restart).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './wait.js';

export interface SrvRecord {
  name: string;
  target: string;
  port: number;
  priority?: number;
  weight?: number;
}

export interface DnsRecords {
  /** name → IPv4/IPv6 addresses */
  hosts: Record<string, string[]>;
  srv?: SrvRecord[];
}

const BINARY = ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq', '/sbin/dnsmasq'];

export function findDnsmasq(): string | undefined {
  for (const path of BINARY) if (spawnSync(path, ['--version']).status === 0) return path;
  return undefined;
}

/** Skip reason when dnsmasq is missing outside CI; in CI a missing binary must fail the test. */
export function dnsmasqSkipReason(): string | undefined {
  if (findDnsmasq() || process.env.CI) return undefined;
  return 'dnsmasq is not installed (apt-get install dnsmasq); skipping the real-DNS tests';
}

export class Dnsmasq {
  private child: ChildProcess | undefined;
  private stderr = '';

  private constructor(
    private readonly binary: string,
    private readonly dir: string,
    readonly port: number,
    private records: DnsRecords,
    private readonly ttlSeconds: number,
  ) {}

  static async start(records: DnsRecords, { ttlSeconds = 1 } = {}): Promise<Dnsmasq> {
    const binary = findDnsmasq();
    if (!binary) throw new Error('dnsmasq not found; apt-get install dnsmasq');
    const dir = await mkdtemp(join(tmpdir(), 'portside-dnsmasq-'));
    for (let attempt = 0; ; attempt++) {
      const server = new Dnsmasq(binary, dir, await freeUdpPort(), records, ttlSeconds);
      try {
        await server.launch();
        return server;
      } catch (error) {
        await server.stop(false);
        // Another process may take the port between the probe and dnsmasq's bind (a test holding
        // thousands of UDP sockets makes that likely): try other ports.
        if (attempt >= 9) {
          await rm(dir, { recursive: true, force: true });
          throw error;
        }
      }
    }
  }

  /** `host:port` for `Resolver.setServers` and the config's `servers`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Changes A/AAAA records in place (SIGHUP re-reads the hosts file) and waits until served. */
  async setHosts(hosts: Record<string, string[]>): Promise<void> {
    this.records = { ...this.records, hosts };
    await this.writeFiles();
    this.child?.kill('SIGHUP');
    const [name, addresses] = Object.entries(hosts)[0] ?? [];
    if (name && addresses?.length) await this.waitServes(name, addresses);
  }

  /** SRV records live in the config file, which dnsmasq reads only at start: restart it. */
  async setSrv(srv: SrvRecord[]): Promise<void> {
    this.records = { ...this.records, srv };
    await this.stop(false);
    await this.launch();
  }

  /** Stops answering (for failure tests) until `resume()`. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(removeFiles = true): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    if (removeFiles) await rm(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    await this.writeFiles();
    this.stderr = '';
    const child = spawn(this.binary, [`--conf-file=${join(this.dir, 'dnsmasq.conf')}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    const exited = once(child, 'exit').then(() => {
      throw new Error(`dnsmasq exited at start: ${this.stderr.trim()}`);
    });
    const [name, addresses] = Object.entries(this.records.hosts)[0] ?? [];
    const ready = name && addresses?.length ? this.waitServes(name, addresses) : this.waitAnswers();
    await Promise.race([ready, exited]);
    exited.catch(() => {});
  }

  private async waitServes(name: string, addresses: string[]): Promise<void> {
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([this.address]);
    const ipv6 = addresses[0]!.includes(':');
    await eventually(
      async () => {
        const answer = ipv6 ? await resolver.resolve6(name) : await resolver.resolve4(name);
        return answer.sort().join() === [...addresses].sort().join();
      },
      { timeoutMs: 5000, what: `dnsmasq to serve ${name} → ${addresses.join(', ')}` },
    );
  }

  private async waitAnswers(): Promise<void> {
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([this.address]);
    await eventually(
      async () => {
        await resolver.resolve4('nothing.internal').catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOTFOUND' && e.code !== 'ENODATA') throw e;
        });
        return true;
      },
      { timeoutMs: 5000, what: 'dnsmasq to answer' },
    );
  }

  private async writeFiles(): Promise<void> {
    const hostsFile = join(this.dir, 'hosts');
    const hosts = Object.entries(this.records.hosts).flatMap(([name, addresses]) =>
      addresses.map((address) => `${address} ${name}`),
    );
    await writeFile(hostsFile, `${hosts.join('\n')}\n`);
    const srv = (this.records.srv ?? []).map(
      (r) => `srv-host=${r.name},${r.target},${r.port},${r.priority ?? 0},${r.weight ?? 0}`,
    );
    const conf = [
      `port=${this.port}`,
      'listen-address=127.0.0.1',
      'bind-interfaces',
      'no-resolv',
      'no-hosts',
      'no-poll',
      // Answer for .internal ourselves (NXDOMAIN for unknown names) instead of forwarding.
      'local=/internal/',
      `addn-hosts=${hostsFile}`,
      `local-ttl=${this.ttlSeconds}`,
      'keep-in-foreground',
      'log-facility=-',
      'pid-file=',
      'user=root',
      ...srv,
    ];
    await writeFile(join(this.dir, 'dnsmasq.conf'), `${conf.join('\n')}\n`);
  }
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
