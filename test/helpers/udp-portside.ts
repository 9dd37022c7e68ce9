/**
 * For the UDP end-to-end tests: dnsmasq answering `who.internal` with 10.0.0.1, and the real
 * CLI (`portside run`) in front of it with an admin server and one udp listener, "dns".
 */
import { rmSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { adminRequest } from './admin-request.js';
import { configWriter, type RunningCli, startCli } from './cli.js';
import type { DnsClient } from './dns-client.js';
import { Dnsmasq } from './dnsmasq.js';
import { eventually } from './wait.js';

export interface UdpPortside {
  dns: Dnsmasq;
  cli: RunningCli;
  /** The admin server's `host:port`. */
  admin: string;
  /** The udp listener's port. */
  port: number;
  /** Clients the test opens; closed when it ends. */
  clients: DnsClient[];
}

/**
 * `listener` holds the udp listener's own keys (`idleTimeout: 3s, maxSessions: 10`), `cluster`
 * more keys of its cluster. Resolves once /ready answers 200: fully started.
 */
export async function startUdpPortside(
  t: TestContext,
  {
    listener = '',
    cluster = '',
    launcher,
  }: { listener?: string; cluster?: string; launcher?: Parameters<typeof startCli>[1] },
): Promise<UdpPortside> {
  const dns = await Dnsmasq.start({ hosts: { 'who.internal': ['10.0.0.1'] } });
  t.after(() => dns.stop());
  const { dir, write } = configWriter('portside-udp-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = write(
    'portside.yaml',
    `admin: { address: "127.0.0.1:0" }
listeners:
  - { name: dns, protocol: udp, address: "127.0.0.1:0", cluster: dns, ${listener} }
clusters:
  - name: dns
    endpoints: ["${dns.address}"]
${cluster}
`,
  );
  const cli = startCli(['run', '-c', file], launcher);
  t.after(() => cli.kill());
  const admin = String((await cli.waitForLog((l) => l.msg === 'admin: listening')).address);
  const port = await cli.listenerPort('dns');
  await eventually(async () => (await adminRequest(admin, '/ready')).status === 200, {
    what: '/ready to answer 200',
    timeoutMs: 20_000,
  });
  const clients: DnsClient[] = [];
  t.after(async () => {
    for (const c of clients) await c.close();
  });
  return { dns, cli, admin, port, clients };
}
