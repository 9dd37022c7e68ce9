/**
 * Portside's V8 settings live on the CLI's `#!` line; every other documented way of
 * starting it must pass the same flags, or deployments would run with other memory
 * figures than the benchmark reports.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nodeFlagsOf } from '../../bench/node-flags.js';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const flags = nodeFlagsOf(join(root, 'src', 'cli', 'main.ts'));

describe('Node flags of the Portside CLI', () => {
  it('bounds the young generation on the #! line', () => {
    assert.ok(
      flags.some((f) => f.startsWith('--max-semi-space-size=')),
      `flags: ${flags.join(' ')}`,
    );
  });

  const launchers: { name: string; file: string; line: (text: string) => string | undefined }[] = [
    {
      name: 'npm start',
      file: 'package.json',
      line: (t) => (JSON.parse(t) as { scripts: Record<string, string> }).scripts.start,
    },
    { name: 'the Docker image', file: 'Dockerfile', line: (t) => t.match(/^ENTRYPOINT.*$/m)?.[0] },
    {
      name: 'the systemd unit',
      file: 'deploy/systemd/portside.service',
      line: (t) => t.match(/^ExecStart=.*$/m)?.[0],
    },
  ];
  for (const { name, file, line: find } of launchers) {
    it(`${name} passes the same flags`, () => {
      const line = find(read(file));
      assert.ok(line, `no launch line in ${file}`);
      for (const flag of flags) assert.ok(line.includes(flag), `${file} lacks ${flag}: ${line}`);
    });
  }

  it('rejects a first line that does not start node', () => {
    assert.throws(() => nodeFlagsOf(join(root, 'package.json')), /first line/);
  });
});
