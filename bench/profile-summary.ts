/**
 * Summarises a V8 `.cpuprofile` (from `npm run bench -- --profile`): where the proxy's own
 * CPU time went, by function (self time) and by area (Portside, Node internals, GC, idle).
 * Usage: node dist/bench/profile-summary.js FILE.cpuprofile [--top N]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Which part of the process a frame belongs to, so the summary can say "Portside code: 12%". */
function area(url: string, name: string): string {
  if (name === '(idle)') return 'idle (waiting for I/O)';
  if (name === '(garbage collector)') return 'garbage collector';
  if (name === '(program)') return 'native / V8 (program)';
  if (url.includes('/dist/src/')) return `portside ${url.replace(/.*\/dist\/src\//, '')}`;
  if (url.includes('/node_modules/'))
    return `dependency ${url.replace(/.*\/node_modules\/((@[^/]+\/)?[^/]+).*/, '$1')}`;
  if (url.startsWith('node:internal/')) return `node ${url.slice(14).replace(/\/[^/]*$/, '')}`;
  if (url.startsWith('node:')) return `node ${url.slice(5)}`;
  return url ? 'other JS' : 'native';
}

export function summariseProfile(profile: Profile, top: number): string {
  // Self time per node from the sample stream (hitCount is absent in some Node versions).
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url
      ? ` ${url.replace(/.*\/dist\//, 'dist/').replace(/^file:\/\//, '')}:${lineNumber + 1}`
      : '';
    const key = `${functionName || '(anonymous)'}${where}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const a = area(url, functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
  }
  const busy = total - (byArea.get('idle (waiting for I/O)') ?? 0);
  const lines = [
    `profile: ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s, busy ${((busy / total) * 100).toFixed(1)}%`,
    '',
    'self time by area (% of busy time):',
  ];
  const sorted = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]);
  for (const [name, us] of sorted(byArea)) {
    if (name.startsWith('idle')) continue;
    lines.push(`  ${((us / busy) * 100).toFixed(1).padStart(5)}%  ${name}`);
  }
  lines.push('', `top ${top} functions by self time (% of busy time):`);
  for (const [name, us] of sorted(byFunction)
    .filter(([name]) => !name.startsWith('(idle)'))
    .slice(0, top)) {
    lines.push(`  ${((us / busy) * 100).toFixed(1).padStart(5)}%  ${name}`);
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/.*\//, ''))) {
  const [file, flag, count] = process.argv.slice(2);
  if (!file) {
    console.error('usage: profile-summary FILE.cpuprofile [--top N]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  console.log(summariseProfile(profile, flag === '--top' ? Number(count) : 30));
}
