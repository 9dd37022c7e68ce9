import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { CLI } from '../helpers/cli.js';
import { startHttpUpstream } from '../helpers/http.js';
import { eventually } from '../helpers/wait.js';

// V8's --trace-opt prints a line to stdout for every function it optimizes; Portside's log
// is JSON lines on the same stream, so the order of the two shows when the compiler ran.
test('portside run starts with the optimizing compiler paused and optimizes once it serves', {
  timeout: 60_000,
}, async (t) => {
  const upstream = await startHttpUpstream('up');
  const dir = mkdtempSync(join(tmpdir(), 'portside-compiler-'));
  const file = join(dir, 'portside.yaml');
  writeFileSync(
    file,
    `listeners:
  - { name: web, address: "127.0.0.1:0", protocol: http, routes: [{ cluster: up }] }
clusters:
  - { name: up, endpoints: ["127.0.0.1:${upstream.port}"] }
`,
  );
  const child = spawn(process.execPath, ['--trace-opt', CLI, 'run', '-c', file, '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(async () => {
    child.kill('SIGKILL');
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const events: string[] = [];
  let port = 0;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('[completed optimizing')) events.push('optimized');
    else if (line.includes('"msg":"portside started"')) {
      events.push('started');
      port = Number(/"web@127\.0\.0\.1:(\d+)"/.exec(line)?.[1]);
    }
  });
  await eventually(() => events.includes('started'), { timeoutMs: 20_000, what: 'portside started' });
  assert.equal(events[0], 'started', 'nothing is optimized while starting');

  // Traffic makes the request path hot; the compiler, back on, optimizes it.
  await eventually(
    async () => {
      for (let i = 0; i < 200; i++) assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200);
      return events.includes('optimized');
    },
    { timeoutMs: 30_000, what: 'an optimized function after serving requests' },
  );
});
