import { createRequire } from 'node:module';

/**
 * Whether human-readable logs can be had: pino-pretty is an optional dependency (a
 * production install may leave it out), so asking for pretty logs without it falls back
 * to JSON lines with one line saying why, instead of failing in pino's worker thread.
 */
export function prettyLogs(requested: boolean, resolve = createRequire(import.meta.url).resolve): boolean {
  if (!requested) return false;
  try {
    resolve('pino-pretty');
    return true;
  } catch {
    process.stderr.write(
      'portside: pretty logs need the optional package pino-pretty, which is not installed (npm install pino-pretty); logging JSON lines instead\n',
    );
    return false;
  }
}
