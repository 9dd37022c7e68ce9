import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'portside-yaml-'));

function writeConfig(name: string, yaml: string): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

/** Nine nested levels of nine aliases each: 9^9 nodes if expanded. */
function billionLaughs(): string {
  let yaml = 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  for (let i = 1; i < 9; i++)
    yaml += `a${i}: &a${i} [${Array(9)
      .fill(`*a${i - 1}`)
      .join(', ')}]\n`;
  return `${yaml}listeners: *a8\n`;
}

/** YAML alias mistakes and attacks are config errors at FILE:LINE:COL, not stack traces. */
describe('config YAML aliases', { timeout: 60_000 }, () => {
  const cases = [
    { name: 'unknown alias', yaml: 'clusters: []\nlisteners: *nope\n', at: ':2:12', message: /nope/ },
    { name: 'billion laughs', yaml: billionLaughs(), at: ':2:10', message: /alias count/i },
  ];
  for (const { name, yaml, at, message } of cases) {
    it(`${name}: validate and run report it as FILE:LINE:COL and exit 1`, async () => {
      const file = writeConfig(`${name.replace(' ', '-')}.yaml`, yaml);
      for (const args of [
        ['validate', file],
        ['run', '-c', file],
      ]) {
        const result = await runCli(args);
        assert.equal(result.code, 1, `${args[0]}: ${result.stderr}`);
        const first = result.stderr.split('\n')[0]!;
        assert.ok(first.startsWith(`${file}${at} YAML alias error: `), `${args[0]}: ${result.stderr}`);
        assert.match(first, message);
        assert.doesNotMatch(result.stderr, /\n\s+at /, `${args[0]} printed a stack trace`);
      }
    });
  }
});
