import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { watchConfigFile } from '../../src/core/config-watcher.js';
import { captureLogger } from '../helpers/proxy.js';
import { eventually } from '../helpers/wait.js';

/** Watches `file`; each change records the content read at that moment. */
async function watching(t: { after: (fn: () => void) => void }, file: string) {
  const seen: string[] = [];
  const watcher = await watchConfigFile({
    file,
    log: captureLogger().logger,
    debounceMs: 50,
    onChange: () => seen.push(readFileSync(file, 'utf8')),
  });
  t.after(() => watcher.close());
  const waitFor = (content: string) =>
    eventually(() => seen.includes(content), { timeoutMs: 5000, what: `a change to "${content}"` });
  return { seen, waitFor };
}

test('a burst of writes is one change; saves without a change and other files are none', {
  timeout: 15_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portside-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'portside.yaml');
  writeFileSync(file, 'v0');
  const { seen, waitFor } = await watching(t, file);

  for (let i = 1; i <= 5; i++) writeFileSync(file, `burst-${i}`);
  await waitFor('burst-5');
  writeFileSync(file, 'burst-5'); // saved, unchanged
  writeFileSync(join(dir, 'other.yaml'), 'unrelated');
  writeFileSync(file, 'sentinel');
  await waitFor('sentinel');
  assert.deepEqual(seen, ['burst-5', 'sentinel']);
});

test('an editor saving by rename triggers a change', { timeout: 15_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portside-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'portside.yaml');
  writeFileSync(file, 'original');
  const { seen, waitFor } = await watching(t, file);
  for (const content of ['saved-once', 'saved-twice']) {
    // What vim does with backupcopy=no: write a new file, rename it over the old inode.
    writeFileSync(join(dir, '.portside.yaml.swp'), content);
    renameSync(join(dir, '.portside.yaml.swp'), file);
    await waitFor(content);
  }
  assert.deepEqual(seen, ['saved-once', 'saved-twice']);
});

test('a Kubernetes ConfigMap symlink swap triggers a change', { timeout: 15_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portside-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The kubelet's layout: file -> ..data/file, ..data -> ..<timestamp>/ (swapped atomically).
  const publish = (version: string, content: string) => {
    mkdirSync(join(dir, `..${version}`));
    writeFileSync(join(dir, `..${version}`, 'portside.yaml'), content);
    symlinkSync(`..${version}`, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  publish('2026_01', 'first');
  symlinkSync('..data/portside.yaml', join(dir, 'portside.yaml'));
  const { seen, waitFor } = await watching(t, join(dir, 'portside.yaml'));

  publish('2026_02', 'second');
  rmSync(join(dir, '..2026_01'), { recursive: true });
  await waitFor('second');
  publish('2026_03', 'third');
  await waitFor('third');
  assert.deepEqual(seen, ['second', 'third']);
});

test('with a baseline, a change made before the watch began is one change; the same content is none', {
  timeout: 15_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portside-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'tls.crt');
  writeFileSync(file, 'loaded');
  const baseline = readFileSync(file);
  // Rotated after the caller read it and before its watch starts: no event will ever say so.
  writeFileSync(file, 'rotated');
  const seen: string[] = [];
  const watcher = await watchConfigFile({
    file,
    log: captureLogger().logger,
    debounceMs: 50,
    baseline,
    onChange: () => seen.push(readFileSync(file, 'utf8')),
  });
  t.after(() => watcher.close());
  await eventually(() => seen.includes('rotated'), { timeoutMs: 5000, what: 'the early rotation' });

  const unchanged = readFileSync(file);
  const quiet: string[] = [];
  const second = await watchConfigFile({
    file,
    log: captureLogger().logger,
    debounceMs: 50,
    baseline: unchanged,
    onChange: () => quiet.push('changed'),
  });
  t.after(() => second.close());
  writeFileSync(file, 'sentinel');
  await eventually(() => seen.includes('sentinel'), { timeoutMs: 5000, what: 'the next change' });
  await eventually(() => quiet.length === 1, {
    timeoutMs: 5000,
    what: 'the second watcher seeing only the sentinel',
  });
  assert.deepEqual(seen, ['rotated', 'sentinel']);
  assert.deepEqual(quiet, ['changed']);
});
