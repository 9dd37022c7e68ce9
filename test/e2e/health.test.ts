/**
 * Health through the real `portside run`: a killed upstream is logged down and gets no
 * connections; restarted on its port it is logged up and serves again. And `validate`
 * names a bad health key by file, line and column.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, startCli } from '../helpers/cli.js';
import { startNamedServer, type TestServer } from '../helpers/servers.js';
import { whoAnswers } from '../helpers/tcp.js';

const dir = mkdtempSync(join(tmpdir(), 'portside-health-'));

function writeConfig(name: string, yaml: string): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

test('portside run: a killed upstream is logged down, skipped, then logged up after a restart', {
  timeout: 60_000,
}, async (t) => {
  const servers: TestServer[] = [await startNamedServer('A'), await startNamedServer('B')];
  t.after(() => Promise.all(servers.map((s) => s.close())));
  const [a, b] = servers as [TestServer, TestServer];
  const file = writeConfig(
    'health.yaml',
    `listeners:
  - { name: tcp, address: 127.0.0.1:0, cluster: c }
clusters:
  - name: c
    endpoints: [127.0.0.1:${a.port}, 127.0.0.1:${b.port}]
    healthCheck: { interval: 100ms, timeout: 1s, unhealthyThreshold: 2, healthyThreshold: 2, tcp: {} }
    panicThreshold: 0%
`,
  );
  const cli = startCli(['run', '-c', file]);
  t.after(() => cli.kill());
  const port = await cli.listenerPort('tcp');
  const endpoint = `127.0.0.1:${b.port}`;

  await b.close();
  const down = await cli.waitForLog((l) => l.event === 'health' && l.endpoint === endpoint, 15_000);
  assert.equal(down.level, 'warn', 'marking down is a warning');
  assert.deepEqual([down.cluster, down.from, down.to], ['c', [], ['ActiveCheckFailed']]);
  assert.equal(
    down.msg,
    `c ${endpoint}: available → ActiveCheckFailed (2 health checks failed: connect-refused)`,
  );
  for (let i = 0; i < 6; i++) assert.equal(await whoAnswers(port), 'A');
  // Each connection's log line counts its connect attempts: 1 means B was not even tried.
  await cli.waitForLog((l) => l.msg === 'tcp connection' && cli.lines.indexOf(l) > cli.lines.indexOf(down));
  const after = cli.lines.slice(cli.lines.indexOf(down)).filter((l) => l.msg === 'tcp connection');
  assert.ok(
    after.length > 0 && after.every((l) => l.attempts === 1),
    'no connection attempt went to the dead upstream',
  );

  servers[1] = await startNamedServer('B', b.port);
  const up = await cli.waitForLog(
    (l) => l.event === 'health' && l.endpoint === endpoint && l !== down,
    15_000,
  );
  assert.equal(up.msg, `c ${endpoint}: ActiveCheckFailed → available (2 health checks passed)`);
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) seen.add(await whoAnswers(port));
  assert.deepEqual([...seen].sort(), ['A', 'B']);
});

test('portside validate: a bad health key is named with its place in the file', {
  timeout: 30_000,
}, async () => {
  const file = writeConfig(
    'bad-health.yaml',
    `clusters:
  - name: c
    endpoints: [127.0.0.1:9001]
    healthCheck:
      http: { path: /healthz, expectedStatus: [299-200] }
    outlierDetection: { maxEjectionPercent: 150 }
`,
  );
  const result = await runCli(['validate', file]);
  assert.equal(result.code, 1);
  assert.deepEqual(result.stderr.trim().split('\n').slice(0, 2), [
    `${file}:5:48 clusters[0].healthCheck.http.expectedStatus[0]: status range "299-200" is backwards; write the lower code first`,
    `${file}:6:45 clusters[0].outlierDetection.maxEjectionPercent: invalid percentage "150"; write a value from 0% to 100%, e.g. "50%"`,
  ]);
});
