/**
 * Loads and validates the config file in a short-lived worker thread. The YAML parser and
 * the schema (zod) are needed for a moment at start and at each reload; loaded into the
 * proxy's own thread they would stay resident for its whole life, about 8 MB of an idle
 * Portside's private memory. The result crosses back as plain data (a structured clone).
 */
import { Worker } from 'node:worker_threads';
import type { LoadResult } from './problem.js';

function startWorker(file: string): Worker {
  const workerData = { file };
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./load-worker.js', import.meta.url), { workerData });
  }
  // Running from the TypeScript sources (the tests, through tsx): Node 20 does not apply the
  // main thread's module hooks in workers, so the worker registers tsx itself first.
  const entry = JSON.stringify(new URL('./load-worker.ts', import.meta.url).href);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/** Like `loadConfigFile`, in a worker; rejects only when the worker itself fails. */
export function loadConfigFileInWorker(file: string): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(file);
    let answered = false;
    worker.once('message', (result: LoadResult) => {
      answered = true;
      resolve(result);
    });
    worker.once('error', (error) => {
      answered = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the config loader thread exited (code ${code}) without a result`));
    });
  });
}
