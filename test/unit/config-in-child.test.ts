import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import test from 'node:test';
import { loadConfigFile } from '../../src/config/load.js';
import { loadConfigFileInChild } from '../../src/config/load-in-child.js';

const repo = resolve(import.meta.dirname, '..', '..');

test('the child process returns what loading in this process returns, for every example config', async () => {
  for (const name of ['portside.yaml', 'http-example.yaml']) {
    const file = join(repo, 'config', name);
    const inChild = await loadConfigFileInChild(file);
    assert.ok(inChild.config, `${name} should be valid`);
    assert.deepEqual(inChild, await loadConfigFile(file));
  }
});

test('problems come back from the child process with file, line and column', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portside-child-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'listeners:\n  - name: a\n    address: 127.0.0.1:99999\n    cluster: web\n');
  const result = await loadConfigFileInChild(file);
  assert.equal(result.config, undefined);
  assert.deepEqual(result, await loadConfigFile(file));
  assert.ok(result.problems.some((p) => p.line === 3 && p.path === 'listeners[0].address'));

  const missing = await loadConfigFileInChild(join(dir, 'absent.yaml'));
  assert.equal(missing.config, undefined);
  assert.match(missing.problems[0]!.message, /file not found/);
});

test('the child exits quietly when its parent stopped listening before the answer', async () => {
  // What happens when the proxy is stopped while it loads its config at start.
  const child = fork(join(repo, 'src', 'config', 'load-child.ts'), [join(repo, 'config', 'portside.yaml')], {
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    execArgv: ['--import', 'tsx'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  child.disconnect();
  const [code] = await once(child, 'exit');
  assert.equal(stderr, '', 'no stack trace on the shared stderr');
  assert.equal(code, 0);
});

/** Relative modules that `file` imports for their values (type-only imports are erased). */
function valueImports(file: string): { local: string[]; packages: string[] } {
  const local: string[] = [];
  const packages: string[] = [];
  const source = readFileSync(file, 'utf8');
  for (const match of source.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)) {
    const [, typeOnly, specifier] = match;
    if (typeOnly || specifier!.startsWith('node:')) continue;
    if (specifier!.startsWith('.')) local.push(resolve(dirname(file), specifier!.replace(/\.js$/, '.ts')));
    else packages.push(specifier!);
  }
  return { local, packages };
}

test('the proxy process never imports the YAML parser or the schema library', () => {
  // Everything `portside run` imports statically; dynamic imports (admin, Kubernetes) are lazy.
  const seen = new Set<string>();
  const pending = [join(repo, 'src', 'cli', 'main.ts'), join(repo, 'src', 'cli', 'run.ts')];
  const offenders: string[] = [];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const { local, packages } = valueImports(file);
    for (const name of packages) if (name === 'zod' || name === 'yaml') offenders.push(`${file}: ${name}`);
    pending.push(...local);
  }
  assert.ok(seen.size > 30, `walked only ${seen.size} modules`);
  assert.deepEqual(offenders, []);
});

test('a loader process that dies without answering rejects the load, naming how it ended', async () => {
  // The child inherits the environment: a preload that does not exist makes it exit at once.
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ''} --require=/nonexistent/portside-preload.cjs`;
  try {
    await assert.rejects(
      loadConfigFileInChild(join(repo, 'config', 'portside.yaml')),
      /the config loader process exited \(code 1\) without a result/,
    );
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
});

test('a loader process that hangs is killed after the timeout, and the next load works', {
  timeout: 60_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portside-child-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The child inherits the environment: a preload that blocks forever makes it hang.
  const hang = join(dir, 'hang.cjs');
  writeFileSync(hang, 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);\n');
  const file = join(repo, 'config', 'portside.yaml');
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ''} --require=${hang}`;
  try {
    await assert.rejects(
      loadConfigFileInChild(file, 2000),
      /the config loader process did not answer within 2000 ms; killed it/,
    );
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
  assert.ok((await loadConfigFileInChild(file)).config, 'a later load works');
});
