/**
 * What `portside run` imports at start. Node's TLS, HTTP/2 and HTTP client modules cost
 * memory as soon as they load, for good (Node 26: `node:tls` about 5 MB, `node:http2` with
 * what it pulls in about 12 MB of an idle proxy's 74 MB; Node 20: 1-3 MB), so a proxy without
 * TLS, HTTP/2 or etcd/Kubernetes never loads them: the code that needs them takes them with
 * `process.getBuiltinModule` when it first runs. This test follows the static imports of the
 * run command and of the L7 engine (loaded when the config has an HTTP listener) and fails
 * when one of them reaches those modules again. Measured figures: bench/RESULTS.md,
 * "Memory on Node 26 (issue 19)".
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';

const src = join(import.meta.dirname, '..', '..', 'src');
const LOADED_ON_FIRST_USE = ['node:tls', 'node:http2', 'node:https', 'node:http'];

/** The modules `entry` imports at run time, directly or not, each with the file that imports it first. */
function staticImports(entry: string): Map<string, string> {
  const found = new Map<string, string>();
  const seen = new Set([entry]);
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const text = readFileSync(file, 'utf8');
    // `import type …` and imports of types only are erased by the compiler.
    for (const [, what, spec] of text.matchAll(
      /^(?:import|export)\s+(?!type\b)([^;]*?)\s+from\s+'([^']+)'/gms,
    )) {
      const names = /^\{([^}]*)\}$/.exec(what!.trim())?.[1];
      if (names?.split(',').every((n) => n.trim() === '' || n.trim().startsWith('type '))) continue;
      if (spec!.startsWith('.')) {
        const target = resolve(dirname(file), spec!.replace(/\.js$/, '.ts'));
        if (!seen.has(target)) {
          seen.add(target);
          queue.push(target);
        }
      } else if (!found.has(spec!)) found.set(spec!, file.slice(src.length + 1));
    }
  }
  return found;
}

describe('modules loaded at start', () => {
  for (const entry of ['cli/run.ts', 'l7/http-proxy.ts']) {
    const imports = staticImports(join(src, entry));
    it(`${entry} follows its imports (the scan works)`, () => {
      assert.ok(imports.has('node:net'), [...imports.keys()].join(' '));
    });
    for (const name of LOADED_ON_FIRST_USE) {
      it(`${entry} does not import ${name}`, () => {
        assert.equal(imports.get(name), undefined, `${name} is imported by src/${imports.get(name)}`);
      });
    }
  }
});
