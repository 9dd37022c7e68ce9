/**
 * src/l7/h1 is the HTTP/1.1 codec: it must not import from the rest of src/l7 (or anything
 * above it), or the connection manager's concerns leak back into framing and the import
 * cycles return. Allowed: node: built-ins and the reusable read buffer of src/core.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const H1 = join(import.meta.dirname, '../../src/l7/h1');
const ALLOWED_OUTSIDE = new Set(['../../core/read-buffer.js']);

function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const pattern =
    /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const match of source.matchAll(pattern)) specifiers.push((match[1] ?? match[2])!);
  return specifiers;
}

describe('the h1 codec', () => {
  it('imports nothing from src/l7 or above it', () => {
    const files = readdirSync(H1).filter((name) => name.endsWith('.ts'));
    assert.ok(files.length > 5, 'the codec files were found');
    const offending: string[] = [];
    for (const file of files) {
      for (const specifier of importsOf(readFileSync(join(H1, file), 'utf8'))) {
        if (specifier.startsWith('node:') || specifier.startsWith('./')) continue;
        if (!ALLOWED_OUTSIDE.has(specifier)) offending.push(`${file}: ${specifier}`);
      }
    }
    assert.deepEqual(offending, []);
  });

  it('recognises the import forms it checks', () => {
    const source =
      "import type { A } from '../a.js';\nimport { B,\n  C } from \"./b.js\";\nexport { D } from '../d.js';\nconst e = import('../e.js');";
    assert.deepEqual(importsOf(source), ['../a.js', './b.js', '../d.js', '../e.js']);
  });
});
