import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The built CLI (npm test builds first). */
export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

/** A temporary directory, and a function that writes a config file into it and returns its path. */
export function configWriter(prefix: string): { dir: string; write: (name: string, yaml: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(name, yaml) {
      const file = join(dir, name);
      writeFileSync(file, yaml);
      return file;
    },
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  timeoutMs?: number;
  /** Written to the CLI's standard input (otherwise it has none). */
  input?: string;
  /** Variables added to this process's environment. */
  env?: NodeJS.ProcessEnv;
}

/** Runs the CLI to completion. */
export async function runCli(args: string[], options: RunCliOptions = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A long-running `portside run` whose JSON log lines can be awaited. */
export interface RunningCli {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: () => string;
  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Port a listener bound, from its "listener bound" log line. */
  listenerPort(name: string): Promise<number>;
  exited: Promise<number | null>;
  kill(): void;
}

/**
 * `launcher` runs the CLI through another program, e.g. `prlimit --nofile=N:N node CLI`
 * (its args must end with the node binary and CLI; `args` follow them).
 */
export function startCli(args: string[], launcher?: { command: string; args: string[] }): RunningCli {
  const child = launcher
    ? spawn(launcher.command, [...launcher.args, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<{
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }>();
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const reader = createInterface({ input: child.stdout! });
  const linesDone = once(reader, 'close');
  reader.on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text);
    } catch {
      return;
    }
    lines.push(line);
    for (const w of waiters) {
      if (w.match(line)) {
        waiters.delete(w);
        w.resolve(line);
      }
    }
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const waitForLog: RunningCli['waitForLog'] = (match, timeoutMs = 30_000) => {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve };
      waiters.add(waiter);
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no matching log line within ${timeoutMs}ms; stderr: ${stderr}`));
      }, timeoutMs);
      // readline emits 'close' after the last line, so a line missing then is really missing.
      void linesDone.then(() => {
        if (waiters.delete(waiter)) {
          clearTimeout(timer);
          reject(new Error(`portside exited before the expected log line; stderr: ${stderr}`));
        }
      });
      waiter.resolve = (l) => {
        clearTimeout(timer);
        resolve(l);
      };
    });
  };
  return {
    child,
    lines,
    stderr: () => stderr,
    waitForLog,
    async listenerPort(name) {
      const line = await waitForLog((l) => l.msg === 'listener bound' && l.listener === name);
      return Number(String(line.address).split(':').pop());
    },
    exited,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
