import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const pkg = JSON.parse(read('package.json'));

describe('packaging', () => {
  it('runtime dependencies are what src imports; http-proxy is the bench’s, pino-pretty optional', () => {
    assert.equal(pkg.dependencies['http-proxy'], undefined);
    assert.ok(pkg.devDependencies['http-proxy']);
    assert.equal(pkg.dependencies['pino-pretty'], undefined);
    assert.ok(pkg.optionalDependencies['pino-pretty']);
  });

  it('engines name the Node lines Portside runs on: 20 (end of life, still works), 22, 24 and 26', () => {
    const ranges = String(pkg.engines.node)
      .split('||')
      .map((r) => r.trim());
    assert.deepEqual(
      ranges.map((r) => Number(/^\^(\d+)\./.exec(r)?.[1])),
      [20, 22, 24, 26],
    );
    const ci = read('.ci/node-versions')
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
    assert.deepEqual(ci, [22, 24, 26], 'CI runs the suite on each supported line');
  });

  it('npm start builds only src, incrementally', () => {
    const build = JSON.parse(
      read('tsconfig.build.json')
        .split('\n')
        .filter((l) => !l.trim().startsWith('//'))
        .join('\n'),
    );
    assert.deepEqual(build.include, ['src']);
    assert.equal(build.compilerOptions.incremental, true);
    assert.equal(pkg.scripts.prestart, 'npm run build:dist --silent');
    assert.equal(pkg.scripts['build:dist'], 'tsc -p tsconfig.build.json');
  });

  it('the Dockerfile builds and runs on Node 26 (the Active LTS, and the fastest measured)', () => {
    const from = read('Dockerfile')
      .split('\n')
      .filter((l) => l.startsWith('FROM '));
    assert.equal(from.length, 2);
    assert.match(from[0]!, /^FROM node:26-/);
    assert.match(from[1]!, /^FROM gcr\.io\/distroless\/nodejs26-/);
  });

  it('LICENSE is the Apache License 2.0 that package.json names', () => {
    assert.equal(pkg.license, 'Apache-2.0');
    const license = read('LICENSE');
    assert.match(license, /^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
    assert.match(license, /END OF TERMS AND CONDITIONS/);
  });

  it('the systemd unit’s Documentation= names files the package ships', () => {
    const line = /^Documentation=(.*)$/m.exec(read('deploy/systemd/portside.service'))?.[1];
    assert.ok(line);
    for (const uri of line.split(/\s+/)) {
      const file = /^file:\/\/\/opt\/portside\/(.+)$/.exec(uri)?.[1];
      assert.ok(file, `${uri} is a file in the installed tree`);
      assert.ok(existsSync(join(ROOT, file)), `${file} exists`);
      const shipped = file === 'README.md' || pkg.files.some((f: string) => file.startsWith(`${f}/`));
      assert.ok(shipped, `${file} is in package.json "files"`);
    }
  });
});
