/**
 * Loads and validates the config file in a short-lived child process. The YAML parser and
 * the schema (zod) are needed for a moment at start and at each reload. Loaded into the
 * proxy's own thread they would stay resident for its whole life (about 8 MB); loaded in a
 * worker thread they still left about 3.5 MB behind in the proxy (the worker's heap and the
 * machine code its compilers mapped). A child process gives back everything when it exits,
 * at the price of one Node start-up per load (a load takes about 170 ms instead of 120 ms),
 * and a hostile or broken file cannot exhaust the proxy's own heap. The result crosses back
 * as plain data, serialized with V8's structured clone.
 */
import { type ForkOptions, fork } from 'node:child_process';
import type { LoadResult } from './problem.js';

function startChild(file: string) {
  // The child's stderr is the proxy's, so a crash in the loader is seen; stdout is the log's.
  const options: ForkOptions = { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] };
  if (!import.meta.url.endsWith('.ts')) {
    return fork(new URL('./load-child.js', import.meta.url), [file], { ...options, execArgv: [] });
  }
  // Running from the TypeScript sources (the tests, through tsx): the child needs tsx too.
  return fork(new URL('./load-child.ts', import.meta.url), [file], {
    ...options,
    execArgv: ['--import', 'tsx'],
  });
}

/**
 * How long a load may take before the child is killed. A load takes well under a second
 * even on a loaded machine; a child that hangs would otherwise hold every later reload.
 */
export const LOAD_TIMEOUT_MS = 20_000;

/**
 * Like `loadConfigFile`, in a child process; rejects only when the child itself fails or
 * does not answer within `timeoutMs` (then it is killed).
 */
export function loadConfigFileInChild(file: string, timeoutMs = LOAD_TIMEOUT_MS): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = startChild(file);
    let answered = false;
    const timer = setTimeout(() => {
      if (answered) return;
      answered = true;
      child.kill('SIGKILL');
      reject(new Error(`the config loader process did not answer within ${timeoutMs} ms; killed it`));
    }, timeoutMs);
    child.once('message', (result) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      resolve(result as LoadResult);
    });
    child.once('error', (error) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (answered) return;
      answered = true;
      reject(new Error(`the config loader process exited (${signal ?? `code ${code}`}) without a result`));
    });
  });
}
