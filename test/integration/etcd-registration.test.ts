import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RegistrationConfig } from '../../src/config/registry-schema.js';
import { EtcdSource, parseRegistration } from '../../src/discovery/etcd.js';
import type { DiscoveredEndpoint } from '../../src/discovery/source.js';
import { EtcdClient } from '../../src/registry/etcd-client.js';
import { Registrar } from '../../src/registry/registrar.js';
import { Registration } from '../../src/registry/registration.js';
import { EtcdServer, etcdBinary, makeServerTls } from '../helpers/etcd.js';
import { captureLogger } from '../helpers/proxy.js';
import { startReloadingProxy } from '../helpers/reloading-proxy.js';
import { deadPort, startTcpServer, type TestServer } from '../helpers/servers.js';
import { eventually } from '../helpers/wait.js';

const skip =
  !existsSync(etcdBinary) && !process.env.CI ? 'etcd not installed (apt-get install etcd-server)' : false;

function entry(service: string, port: number, extra: Partial<RegistrationConfig> = {}): RegistrationConfig {
  return { service, address: '127.0.0.1', port, weight: 1, ttl: '2s', ...extra };
}

const quickCheck = {
  interval: '200ms',
  timeout: '200ms',
  unhealthyThreshold: 1,
  healthyThreshold: 1,
  jitter: 0,
} as const;

describe('registration against a real etcd', { skip, timeout: 60_000 }, () => {
  let etcd: EtcdServer;
  const stops: (() => Promise<void> | void)[] = [];
  before(async () => {
    etcd = await EtcdServer.start();
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await etcd?.close();
  });

  function register(e: RegistrationConfig, endpoints = [etcd.url]) {
    const { logger, lines } = captureLogger('info');
    // Generous: a revoke that times out on a loaded machine is left to expire, which the tests would read as a bug.
    const client = new EtcdClient({ endpoints, timeoutMs: 10_000 });
    const registration = new Registration(e, '/services/', { node: 'node-1', zone: 'z0' }, client, logger);
    stops.push(async () => {
      await registration.stop();
      client.close();
    });
    registration.start();
    return { registration, lines };
  }

  it('writes the layout discovery reads, on a lease, and withdraws it at once on stop', async () => {
    const { registration } = register(
      entry('orders', 8080, { weight: 3, zone: 'z1', metadata: { version: '2' } }),
    );
    const key = '/services/orders/127.0.0.1:8080';
    const value = await eventually(() => etcd.get(key), { timeoutMs: 10_000, what: 'the registration' });
    const parsed = parseRegistration(value);
    assert.deepEqual(parsed, {
      host: '127.0.0.1',
      port: 8080,
      weight: 3,
      locality: { node: 'node-1', zone: 'z1' },
      ready: undefined,
    });
    assert.deepEqual(JSON.parse(value).metadata, { version: '2' });
    const lease = await etcd.leaseOf(key);
    assert.notEqual(lease, '0', 'the key is on a lease');
    assert.ok((await etcd.leases()).includes(lease!));

    await registration.stop();
    assert.equal(await etcd.get(key), undefined, 'deleted before stop() resolves');
    assert.ok(!(await etcd.leases()).includes(lease!), 'the lease is revoked');
  });

  it('outlives its ttl while it beats, and writes the key again if someone deletes it', async () => {
    register(entry('beating', 8081));
    const key = '/services/beating/127.0.0.1:8081';
    await eventually(() => etcd.get(key), { timeoutMs: 10_000, what: 'the registration' });
    const lease = await etcd.leaseOf(key);
    // Watched for two and a half ttls: the key stays on the same lease the whole time.
    const until = Date.now() + 5000;
    while (Date.now() < until) {
      assert.equal(await etcd.leaseOf(key), lease, 'the key stays on its lease');
      await new Promise((r) => setTimeout(r, 250));
    }

    await etcd.remove(key);
    await eventually(() => etcd.get(key), { timeoutMs: 10_000, what: 'the key to be written again' });
  });

  it('announces only while the local check passes, and withdraws within one interval', async () => {
    let app: TestServer | undefined = await startTcpServer((s) => s.end());
    const port = app.port;
    const key = `/services/checked/127.0.0.1:${port}`;
    // A long ttl: the entry can only leave this quickly by being withdrawn, not by expiring.
    const { lines } = register(
      entry('checked', port, { ttl: '60s', healthCheck: { ...quickCheck, tcp: {} } }),
    );
    await eventually(() => etcd.get(key), { timeoutMs: 10_000, what: 'the registration' });
    const lease = await etcd.leaseOf(key);

    await app.close();
    app = undefined;
    const failedAt = Date.now();
    await eventually(async () => (await etcd.get(key)) === undefined, {
      timeoutMs: 10_000,
      what: 'the withdrawal',
    });
    // One interval (200 ms) plus a probe and two etcd calls; a loaded machine may take
    // seconds, still far from the 60 s ttl.
    assert.ok(Date.now() - failedAt < 20_000, `withdrawn after ${Date.now() - failedAt} ms`);
    // Delete, then revoke: the key can be gone a moment before its lease is.
    await eventually(async () => !(await etcd.leases()).includes(lease!), {
      timeoutMs: 10_000,
      what: 'the lease to be revoked, not left to expire',
    });
    // unhealthyThreshold 1: the first failed check withdraws, none after it is needed.
    const failures = lines.filter((l) => l.msg === 'local check fails; withdrawing');
    assert.equal(failures.length, 1);
    assert.equal(failures[0]?.reason, 'connect-refused');
    // Logged once the revoke returns, which etcd may show a moment earlier.
    await eventually(
      () => lines.some((l) => l.msg === 'withdrawn' && l.reason === 'check failed: connect-refused'),
      { what: "'withdrawn' in the log" },
    );

    app = await startTcpServer((s) => s.end(), port);
    stops.push(() => app?.close());
    await eventually(() => etcd.get(key), { timeoutMs: 10_000, what: 'registration after recovery' });
  });

  it('never announces an application whose check has not passed', async () => {
    const port = await deadPort();
    const { registration, lines } = register(
      entry('never', port, { healthCheck: { ...quickCheck, tcp: {} } }),
    );
    await eventually(() => lines.some((l) => l.msg === 'local check fails; withdrawing'), {
      what: 'the first failed check',
    });
    await eventually(() => registration.state === 'withdrawn', { what: 'the state to settle' });
    assert.equal(await etcd.get(`/services/never/127.0.0.1:${port}`), undefined);
  });

  it('fails over to the next etcd endpoint', async () => {
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const { lines } = register(entry('failover', 8082), [dead, etcd.url]);
    await eventually(() => etcd.get('/services/failover/127.0.0.1:8082'), {
      timeoutMs: 10_000,
      what: 'the registration through the second endpoint',
    });
    // The key is in etcd a moment before the registration logs it.
    await eventually(() => lines.some((l) => l.msg === 'registered' && l.etcd === etcd.url), {
      what: "'registered' through the second endpoint in the log",
    });
  });

  it('keeps its lease across an etcd restart that keeps the data', async () => {
    const { lines } = register(entry('restart', 8084));
    const key = '/services/restart/127.0.0.1:8084';
    await eventually(() => etcd.get(key), { timeoutMs: 10_000, what: 'the registration' });
    const lease = await etcd.leaseOf(key);
    await etcd.down();
    await eventually(() => lines.some((l) => l.msg?.toString().startsWith('cannot reach etcd')), {
      timeoutMs: 10_000,
      what: 'the outage to be noticed',
    });
    await etcd.up();
    await eventually(() => lines.some((l) => l.msg === 'etcd reachable again'), {
      timeoutMs: 15_000,
      what: 'the heartbeat to resume',
    });
    // etcd restores leases with a fresh ttl on restart: the same lease holds the key.
    assert.equal(await etcd.leaseOf(key), lease);
    assert.ok(!lines.some((l) => l.msg === 'lease lost; registering again'));
  });

  it('registers again after etcd comes back without the lease', async () => {
    const { lines } = register(entry('outage', 8083));
    const key = '/services/outage/127.0.0.1:8083';
    await eventually(() => etcd.get(key), { timeoutMs: 10_000, what: 'the registration' });
    // A new, empty cluster: the lease and the key are gone, as after a restore or a replacement.
    await etcd.wipe();
    await eventually(() => lines.some((l) => l.msg?.toString().startsWith('cannot reach etcd')), {
      timeoutMs: 10_000,
      what: 'the outage to be noticed',
    });
    await etcd.up();
    await eventually(() => etcd.get(key), { timeoutMs: 15_000, what: 're-registration' });
    assert.ok(lines.some((l) => l.msg === 'lease lost; registering again'));
  });

  it('a reload keeps unchanged entries on their lease and withdraws removed ones', async () => {
    const { logger } = captureLogger('info');
    const registrar = new Registrar(logger);
    stops.push(() => registrar.stop());
    const registry = { etcd: { endpoints: [etcd.url], prefix: '/reload/', timeout: '1s' } };
    const a = entry('svc', 9001);
    const b = entry('svc', 9002);
    await registrar.apply({ registry, register: [a, b], node: {} });
    await eventually(
      async () => (await etcd.get('/reload/svc/127.0.0.1:9001')) && etcd.get('/reload/svc/127.0.0.1:9002'),
      {
        timeoutMs: 10_000,
        what: 'both entries',
      },
    );
    const lease = await etcd.leaseOf('/reload/svc/127.0.0.1:9001');
    await registrar.apply({ registry, register: [a], node: {} });
    assert.equal(await etcd.get('/reload/svc/127.0.0.1:9002'), undefined);
    assert.equal(await etcd.leaseOf('/reload/svc/127.0.0.1:9001'), lease);
    await registrar.stop();
    assert.equal(await etcd.get('/reload/svc/127.0.0.1:9001'), undefined);
  });
});

describe('registration with etcd authentication', { skip, timeout: 60_000 }, () => {
  it('logs in, registers, and never logs the password', async () => {
    const etcd = await EtcdServer.start();
    const password = 'pw-Secret-42';
    const { logger, lines } = captureLogger('debug');
    const client = new EtcdClient({ endpoints: [etcd.url], username: 'root', password, timeoutMs: 1000 });
    const registration = new Registration(entry('secure', 8090), '/services/', {}, client, logger);
    try {
      const token = await etcd.enableAuth(password);
      registration.start();
      await eventually(() => etcd.get('/services/secure/127.0.0.1:8090', token), {
        timeoutMs: 10_000,
        what: 'the registration',
      });
      // Discovery logs in with the same kind of credentials and sees the entry.
      const source = new EtcdSource(
        { endpoints: [etcd.url], prefix: '/services/secure/', username: 'root', password },
        logger,
      );
      let seen: DiscoveredEndpoint[] = [];
      source.start((endpoints) => {
        seen = endpoints;
      });
      const anonymous = new EtcdSource(
        { endpoints: [etcd.url], prefix: '/services/secure/', maxBackoffMs: 200 },
        logger,
      );
      anonymous.start(() => {});
      try {
        await eventually(() => seen.length === 1, { timeoutMs: 10_000, what: 'discovery with credentials' });
        assert.equal(seen[0]?.port, 8090);
        await eventually(() => anonymous.lastError, {
          timeoutMs: 10_000,
          what: 'discovery without credentials to fail',
        });
      } finally {
        source.stop();
        anonymous.stop();
      }

      await registration.stop();
      assert.equal(await etcd.get('/services/secure/127.0.0.1:8090', token), undefined);

      const wrong = new EtcdClient({
        endpoints: [etcd.url],
        username: 'root',
        password: 'nope',
        timeoutMs: 1000,
      });
      await assert.rejects(wrong.call('/v3/lease/grant', { TTL: 2 }), /authentication failed/);
      wrong.close();
      assert.ok(!JSON.stringify(lines).includes(password));
    } finally {
      await registration.stop();
      client.close();
      await etcd.close();
    }
  });
});

describe('registration over TLS', { skip, timeout: 60_000 }, () => {
  it('verifies etcd against the configured CA and shows the client certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portside-etcd-tls-'));
    const tls = await makeServerTls(dir);
    const etcd = await EtcdServer.start({ tls });
    const { logger } = captureLogger('info');
    const mutual = { ca: tls.ca, certificate: tls.clientCertificate, key: tls.clientKey, verify: true };
    const client = new EtcdClient({ endpoints: [etcd.url], timeoutMs: 2000, tls: mutual });
    const registration = new Registration(entry('tls', 8091), '/services/', {}, client, logger);
    const untrusting = new EtcdClient({ endpoints: [etcd.url], timeoutMs: 2000 });
    const anonymous = new EtcdClient({
      endpoints: [etcd.url],
      timeoutMs: 2000,
      tls: { ca: tls.ca, verify: true },
    });
    try {
      registration.start();
      const key = Buffer.from('/services/tls/127.0.0.1:8091').toString('base64');
      await eventually(
        async () =>
          ((await client.call<{ count?: string }>('/v3/kv/range', { key, count_only: true })).count ??
            '0') === '1',
        { timeoutMs: 10_000, what: 'the registration over https' },
      );
      await assert.rejects(
        untrusting.call('/v3/kv/range', { key }),
        /self-signed|unable to verify|certificate/i,
      );
      // etcd asks for a client certificate: without one the handshake or the request fails.
      await assert.rejects(anonymous.call('/v3/kv/range', { key }));
    } finally {
      await registration.stop();
      for (const c of [client, untrusting, anonymous]) c.close();
      await etcd.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('registration in a running Portside', { skip, timeout: 60_000 }, () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await EtcdServer.start();
  });
  after(async () => {
    await etcd?.close();
  });

  it('follows reloads of the file, and POST /drain withdraws every entry', async (t) => {
    const config = (weight: number) => `admin: { address: 127.0.0.1:0 }
registry:
  etcd: { endpoints: ["${etcd.url}"], prefix: /run/ }
register:
  - { service: api, address: 127.0.0.1, port: 9501, ttl: 2s, weight: ${weight} }
  - { service: api, address: 127.0.0.1, port: 9502, ttl: 2s }
`;
    const running = await startReloadingProxy(t, config(1));
    await eventually(() => etcd.get('/run/api/127.0.0.1:9502'), {
      timeoutMs: 10_000,
      what: 'the registration',
    });
    await eventually(
      async () => JSON.parse((await etcd.get('/run/api/127.0.0.1:9501')) ?? '{}').weight === 1,
      {
        timeoutMs: 10_000,
        what: 'the first entry',
      },
    );
    const unchangedLease = await etcd.leaseOf('/run/api/127.0.0.1:9502');
    const listed = (await (await fetch(running.adminUrl('/registrations'))).json()) as {
      registrations: { key: string; state: string; ttl: string }[];
    };
    assert.deepEqual(listed.registrations.map((r) => `${r.key} ${r.state} ${r.ttl}`).sort(), [
      '/run/api/127.0.0.1:9501 registered 2s',
      '/run/api/127.0.0.1:9502 registered 2s',
    ]);
    const metrics = await (await fetch(running.adminUrl('/metrics'))).text();
    assert.match(
      metrics,
      /portside_registration_registered\{service="api",key="\/run\/api\/127\.0\.0\.1:9501"\} 1/,
    );

    const reload = await running.edit(config(4));
    assert.ok(reload.ok, reload.summary);
    await eventually(
      async () => JSON.parse((await etcd.get('/run/api/127.0.0.1:9501')) ?? '{}').weight === 4,
      {
        timeoutMs: 10_000,
        what: 'the new weight',
      },
    );
    assert.equal(
      await etcd.leaseOf('/run/api/127.0.0.1:9502'),
      unchangedLease,
      'the unchanged entry kept its lease',
    );

    const response = await fetch(running.adminUrl('/drain'), { method: 'POST' });
    assert.equal(response.status, 200);
    await eventually(
      async () =>
        (await etcd.get('/run/api/127.0.0.1:9501')) === undefined &&
        (await etcd.get('/run/api/127.0.0.1:9502')) === undefined,
      { timeoutMs: 10_000, what: 'both entries withdrawn' },
    );
  });
});
