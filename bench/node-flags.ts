import { readFileSync } from 'node:fs';

/**
 * The Node flags on a script's `#!/usr/bin/env -S node FLAGS` line (none for a plain
 * `#!/usr/bin/env node`). Portside's CLI carries the V8 settings it is meant to run with
 * there, so that `portside …` gets them; other launchers (npm start, Dockerfile, systemd,
 * the benchmark) repeat them, and a test checks that they agree.
 */
export function nodeFlagsOf(script: string): string[] {
  const first = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\S*env (?:-S )?node((?: --?\S+)*)\s*$/.exec(first);
  if (!match) throw new Error(`${script}: the first line is not a "#!/usr/bin/env [-S] node" line`);
  return match[1]!.trim().split(/\s+/).filter(Boolean);
}
