import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { demoConfig } from '../../src/cli/demo.js';
import { configJsonSchemaText } from '../../src/config/json-schema.js';
import { runCli } from '../helpers/cli.js';
import { schemaErrors } from '../helpers/json-schema.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SHIPPED = join(ROOT, 'schema', 'portside.schema.json');
const EXAMPLES = ['portside.yaml', 'http-example.yaml'].map((name) => join(ROOT, 'config', name));

describe('the JSON Schema of the config', () => {
  const schema = JSON.parse(readFileSync(SHIPPED, 'utf8'));

  it('the shipped file is the one generated from the zod schema (regenerate: npm run schema)', () => {
    assert.equal(readFileSync(SHIPPED, 'utf8'), configJsonSchemaText());
  });

  it('portside schema prints the shipped file', async () => {
    const result = await runCli(['schema']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, readFileSync(SHIPPED, 'utf8'));
  });

  it('the example configs carry the yaml-language-server modeline and pass the schema', () => {
    for (const file of EXAMPLES) {
      const text = readFileSync(file, 'utf8');
      assert.equal(
        text.split('\n')[0],
        '# yaml-language-server: $schema=../schema/portside.schema.json',
        `${file} starts with the modeline`,
      );
      assert.deepEqual(schemaErrors(schema, parse(text)), [], file);
    }
    assert.deepEqual(schemaErrors(schema, parse(demoConfig(10000, [10010, 10011]))), []);
  });

  it('an editor using it flags a misspelled key, a wrong type and a missing field', () => {
    const config = {
      'x-defaults': { anything: true },
      listeners: [{ name: 'a', adress: 6380, cluster: 'c' }],
      clusters: [{ name: 'c', endpoints: ['127.0.0.1:1', { address: '127.0.0.1:2', weight: 'x' }] }],
    };
    const errors = schemaErrors(schema, config);
    assert.ok(
      errors.some((e) => /listeners\[0\]\.adress: unknown key/.test(e)),
      errors.join('\n'),
    );
    assert.ok(
      errors.some((e) => /weight: expected integer/.test(e)),
      errors.join('\n'),
    );
    assert.ok(
      errors.some((e) => /listeners\[0\]: missing address/.test(e)),
      errors.join('\n'),
    );
    assert.ok(!errors.some((e) => /x-defaults/.test(e)), 'top-level x- keys are allowed');
  });
});
