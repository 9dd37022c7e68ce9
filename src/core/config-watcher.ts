/**
 * Watches the config file and calls `onChange` once per burst of edits that changed its
 * content. It watches the directory rather than the file: editors that save by writing a
 * new file and renaming it over the old one (vim), and Kubernetes ConfigMap volumes (which
 * swap a `..data` symlink), replace the file's inode, and a watch on the old inode would
 * never fire again. Comparing the content with the last one read filters out unrelated
 * files in the directory and saves that changed nothing.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from './log.js';

export interface ConfigWatcherOptions {
  file: string;
  onChange: () => void;
  log: Logger;
  /** Quiet time after the last event before the file is read (default 150 ms). */
  debounceMs?: number;
}

export interface ConfigWatcher {
  close(): void;
}

export async function watchConfigFile(options: ConfigWatcherOptions): Promise<ConfigWatcher> {
  const file = resolve(options.file);
  const debounceMs = options.debounceMs ?? 150;
  const log = options.log;
  let lastContent: Buffer | undefined = await readFile(file).catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let missingLogged = false;
  // Directory → watcher: the file's own directory, and the one its symlink currently resolves into.
  const watchers = new Map<string, FSWatcher>();

  const schedule = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void check(), debounceMs);
  };

  const watchDirectory = (dir: string) => {
    if (watchers.has(dir)) return;
    try {
      const watcher = watch(dir, { persistent: false }, schedule);
      watcher.on('error', (error) => {
        log.warn({ err: error, dir }, 'config watcher error; edits in this directory may go unnoticed');
        watchers.delete(dir);
        watcher.close();
      });
      watchers.set(dir, watcher);
    } catch (error) {
      log.warn({ err: error, dir }, 'cannot watch config directory; reload with SIGHUP');
    }
  };

  const followSymlink = async () => {
    const target = await realpath(file).catch(() => file);
    const keep = new Set([dirname(file), dirname(target)]);
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
        log.warn({ file, err: error }, 'config file unreadable; keeping the running config');
      missingLogged = true;
      return;
    }
    missingLogged = false;
    if (lastContent?.equals(content)) return;
    lastContent = content;
    options.onChange();
  };

  await followSymlink();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
