/**
 * What an operator installs: `npm pack`, then a production install of the tarball (no dev
 * or optional dependencies), gives a working `portside` on the PATH. Runs without the
 * network when the npm cache holds the dependencies (it does wherever `npm ci` has run):
 * first the plain `npm install -g TARBALL`; when the cache lacks the registry's package
 * metadata for that, `npm ci --omit=dev` inside the unpacked package from the repository's
 * lockfile, then `npm install -g` of that folder. When neither can work offline, skipped.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCli } from '../helpers/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** npm without the npm_* settings an outer `npm test` puts in the environment. */
async function run(command: string, args: string[], cwd: string): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

const QUIET = ['--no-audit', '--no-fund', '--loglevel=error'];
const PRODUCTION = ['--offline', '--omit=dev', '--omit=optional', ...QUIET];

test('npm pack, then a production install of the tarball, gives a working portside', {
  timeout: 180_000,
}, async (t) => {
  const main = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  assert.ok(existsSync(main), `${main} is missing: run npm run build first`);
  assert.equal(pkg.scripts.prepare, undefined, 'installing needs no build step');
  assert.match(pkg.scripts.prepack, /tsc -p tsconfig\.build\.json/);

  const dir = mkdtempSync(join(tmpdir(), 'portside-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The build is the suite's own (npm test builds first); prepack would only build it again.
  const packed = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', dir, ...QUIET],
    ROOT,
  );
  assert.equal(packed.code, 0, packed.stderr);
  const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  const files = info.files.map((f) => f.path);
  for (const shipped of [
    'dist/src/cli/main.js',
    'schema/portside.schema.json',
    'LICENSE',
    'config/portside.yaml',
  ])
    assert.ok(files.includes(shipped), `${shipped} is in the package`);
  assert.deepEqual(
    files.filter((f) => /^(src|test|bench|dist\/test|dist\/bench)\//.test(f)),
    [],
    'no sources, tests or bench',
  );
  const tarball = join(dir, info.filename);

  const prefix = join(dir, 'global');
  let installed = await run('npm', ['install', '-g', '--prefix', prefix, ...PRODUCTION, tarball], dir);
  if (installed.code !== 0) {
    // The cache has the dependencies' tarballs but not the registry's metadata to resolve
    // them without a lockfile: install them from the repository's lockfile instead.
    const unpacked = await run('tar', ['-xzf', tarball], dir);
    assert.equal(unpacked.code, 0, unpacked.stderr);
    copyFileSync(join(ROOT, 'package-lock.json'), join(dir, 'package', 'package-lock.json'));
    const deps = await run('npm', ['ci', ...PRODUCTION], join(dir, 'package'));
    if (deps.code !== 0 && /ENOTCACHED|ENOTFOUND|EAI_AGAIN/.test(deps.stderr)) {
      t.skip(`the dependencies are neither in the npm cache nor reachable: ${deps.stderr.split('\n')[0]}`);
      return;
    }
    assert.equal(deps.code, 0, deps.stderr);
    installed = await run('npm', ['install', '-g', '--prefix', prefix, ...PRODUCTION, './package'], dir);
  }
  assert.equal(installed.code, 0, installed.stderr);

  const portside = join(prefix, 'bin', 'portside');
  const version = await run(portside, ['--version'], dir);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout, `portside ${pkg.version}\n`);

  const home = join(prefix, 'lib', 'node_modules', 'portside');
  const valid = await run(portside, ['validate', join(home, 'config', 'portside.yaml')], dir);
  assert.equal(valid.code, 0, valid.stderr);
  const schema = await run(portside, ['schema'], dir);
  assert.equal(schema.stdout, readFileSync(join(ROOT, 'schema', 'portside.schema.json'), 'utf8'));
  for (const devOnly of ['typescript', 'http-proxy', 'tsx', 'pino-pretty'])
    assert.ok(!existsSync(join(home, 'node_modules', devOnly)), `${devOnly} is not installed`);

  // Without the optional pino-pretty, --log-pretty says so once and logs JSON lines.
  const config = join(dir, 'run.yaml');
  writeFileSync(
    config,
    'listeners:\n  - { name: l, address: 127.0.0.1:0, cluster: c }\nclusters:\n  - { name: c, endpoints: [127.0.0.1:1] }\n',
  );
  const cli = startCli(['run', '-c', config, '--log-pretty'], { command: portside, args: [] });
  try {
    await cli.waitForLog((l) => l.msg === 'portside started', 60_000);
    assert.match(cli.stderr(), /pretty logs need the optional package pino-pretty/);
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exited, 0);
  } finally {
    cli.kill();
  }
});
