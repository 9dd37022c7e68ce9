/**
 * Watches the config file and calls `onChange` once per burst of edits that changed its
 * content. It watches the directory rather than the file: editors that save by writing a
 * new file and renaming it over the old one (vim), and Kubernetes ConfigMap volumes (which
 * swap a `..data` symlink), replace the file's inode, and a watch on the old inode would
 * never fire again. Only events that name the file (or, in its own directory, the first
 * step of its symlink, such as the ConfigMap's `..data`) count: a busy neighbour, like a
 * log file written next to the config, would otherwise restart the quiet time on every
 * line and no edit would ever be read. Comparing the content with the last one read
 * filters out saves that changed nothing.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import type { Logger } from './log.js';

export interface ConfigWatcherOptions {
  file: string;
  onChange: () => void;
  log: Logger;
  /** Quiet time after the last event before the file is read (default 150 ms). */
  debounceMs?: number;
  /** Longest wait from the first event of a burst to the read, however long the burst (default 500 ms). */
  maxDelayMs?: number;
  /** What the file is, in log lines (default "config"; certificate files are watched too). */
  kind?: string;
  /**
   * The content the caller already acted on, read before it loaded the file. Given, an edit
   * made between that read and the start of the watch still calls `onChange`; without it
   * the watch compares against the content it reads itself when it starts.
   */
  baseline?: Buffer;
}

export interface ConfigWatcher {
  close(): void;
}

export async function watchConfigFile(options: ConfigWatcherOptions): Promise<ConfigWatcher> {
  const file = resolve(options.file);
  const debounceMs = options.debounceMs ?? 150;
  const maxDelayMs = Math.max(options.maxDelayMs ?? 500, debounceMs);
  const log = options.log;
  const kind = options.kind ?? 'config';
  let lastContent: Buffer | undefined = options.baseline ?? (await readFile(file).catch(() => undefined));
  let timer: NodeJS.Timeout | undefined;
  /** When the first event of the burst being waited out arrived. */
  let burstStart: number | undefined;
  let closed = false;
  let missingLogged = false;
  // Directory → watcher: the file's own directory, and the one its symlink currently resolves into.
  const watchers = new Map<string, FSWatcher>();
  // Directory → the names in it whose events can mean the config changed.
  let relevant = new Map<string, Set<string>>();

  const schedule = () => {
    if (closed) return;
    const now = Date.now();
    burstStart ??= now;
    clearTimeout(timer);
    const wait = Math.min(debounceMs, burstStart + maxDelayMs - now);
    timer = setTimeout(
      () => {
        burstStart = undefined;
        void check();
      },
      Math.max(wait, 0),
    );
  };

  const onEvent = (dir: string, name: string | Buffer | null) => {
    // Some platforms give no name: then any event may be the file's.
    if (name !== null && !relevant.get(dir)?.has(String(name))) return;
    schedule();
  };

  const watchDirectory = (dir: string) => {
    if (watchers.has(dir)) return;
    try {
      const watcher = watch(dir, { persistent: false }, (_event, name) => onEvent(dir, name));
      watcher.on('error', (error) => {
        log.warn({ err: error, dir }, `${kind} watcher error; edits in this directory may go unnoticed`);
        watchers.delete(dir);
        watcher.close();
      });
      watchers.set(dir, watcher);
    } catch (error) {
      log.warn({ err: error, dir }, `cannot watch ${kind} directory; reload with SIGHUP`);
    }
  };

  const followSymlink = async () => {
    const target = await realpath(file).catch(() => file);
    const names = new Map<string, Set<string>>([[dirname(file), new Set([basename(file)])]]);
    const link = await readlink(file).catch(() => undefined);
    const firstStep = link === undefined || isAbsolute(link) ? undefined : link.split('/')[0];
    if (firstStep) names.get(dirname(file))!.add(firstStep);
    const inTarget = names.get(dirname(target)) ?? new Set<string>();
    names.set(dirname(target), inTarget.add(basename(target)));
    relevant = names;
    const keep = new Set(names.keys());
    for (const dir of keep) watchDirectory(dir);
    for (const [dir, watcher] of watchers) {
      if (!keep.has(dir)) {
        watcher.close();
        watchers.delete(dir);
      }
    }
  };

  const check = async () => {
    if (closed) return;
    await followSymlink();
    let content: Buffer;
    try {
      content = await readFile(file);
    } catch (error) {
      // Mid-swap the file can be briefly missing; the event that brings it back triggers again.
      if (!missingLogged)
        log.warn({ file, err: error }, `${kind} file unreadable; keeping the running ${kind}`);
      missingLogged = true;
      return;
    }
    missingLogged = false;
    if (lastContent?.equals(content)) return;
    lastContent = content;
    options.onChange();
  };

  await followSymlink();
  // Anything that changed before the watch began has no event of its own.
  if (options.baseline !== undefined) void check();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
