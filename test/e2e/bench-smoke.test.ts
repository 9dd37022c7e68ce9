/**
 * Proves the benchmark harness works end to end: the built `bench/run.js` runs one scenario
 * for about a second against the direct target and writes a well-formed report. No figure is
 * asserted (timing never fails a test); only the shape of what it produced.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const runner = join(import.meta.dirname, '..', '..', 'dist', 'bench', 'run.js');

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

test('npm run bench produces a well-formed result for one scenario', { timeout: 60_000 }, async (t) => {
  assert.ok(existsSync(runner), `${runner} is missing: run npm run build first`);
  const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));

  const { code, stderr } = await run([
    ...['--only', 'l7-small-1', '--targets', 'direct', '--tools', 'autocannon', '--upstream', 'node'],
    ...['--duration', '1', '--warmup', '0', '--runs', '1', '--out', out],
  ]);
  assert.equal(code, 0, `bench exited with ${code}:\n${stderr}`);

  const files = readdirSync(join(out, 'results'));
  assert.equal(files.length, 1, `one raw JSON file expected, got ${files.join(', ')}`);
  const report = JSON.parse(readFileSync(join(out, 'results', files[0]!), 'utf8'));
  assert.equal(report.machine.upstream, 'node');
  assert.equal(typeof report.machine.cpuModel, 'string');
  assert.equal(report.samples.length, 1);
  const [sample] = report.samples;
  assert.equal(sample.scenario, 'l7-small-1');
  assert.equal(sample.target, 'direct');
  assert.equal(sample.error, undefined);
  assert.ok(sample.http.requests > 0, 'the load generator completed requests');
  for (const field of ['reqPerSec', 'p50Ms', 'p99Ms', 'durationSec']) {
    assert.equal(typeof sample.http[field], 'number', `http.${field} is a number`);
  }

  const markdown = readFileSync(join(out, 'RESULTS.md'), 'utf8');
  assert.match(markdown, /<!-- bench:results:start -->/);
  assert.match(markdown, /### L7 small responses, 1 connection \(`l7-small-1`\)/);
  assert.match(markdown, /\| direct \| autocannon \| [\d,]+ \|/);
  assert.match(markdown, /### Targets from issue #8/);
});
