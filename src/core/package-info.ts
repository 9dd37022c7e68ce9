/** The installed package: its version and the files it ships (found from src/ or dist/src/). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: { dir: string; version: string } | undefined | null = null;

/**
 * The package's root directory, found by walking up from this file (works from src/ and
 * dist/src/). Read once: a running proxy may be out of file descriptors when it asks again.
 */
function packageRoot(): { dir: string; version: string } | undefined {
  if (root === null) root = findPackageRoot();
  return root;
}

function findPackageRoot(): { dir: string; version: string } | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'portside' && pkg.version) return { dir, version: pkg.version };
    }
    dir = dirname(dir);
  }
  return undefined;
}

export function packageVersion(): string {
  return packageRoot()?.version ?? 'unknown';
}

/** The absolute path of a file shipped in the package, if it is there. */
export function packageFile(relative: string): string | undefined {
  const root = packageRoot();
  const file = root && join(root.dir, relative);
  return file && existsSync(file) ? file : undefined;
}
