/**
 * Start-up with V8's optimizing compiler (TurboFan) paused.
 *
 * Starting `portside run` imports about a hundred modules, which runs Node's module resolver
 * often enough for V8 to optimize it. The first optimization maps about 3.5 MB of TurboFan's
 * own machine code from the `node` binary, and those pages stay resident for the process's
 * life. Code that runs once needs no optimizing, so start-up runs without it and the
 * compiler comes back as soon as the proxy serves: request paths are still optimized, once
 * traffic makes them hot.
 *
 * Maglev, V8's mid-tier optimizing compiler, is paused the same way where Node is built with
 * it (and so runs it by default: Node 24 and later; Node 20 and 22 are built without). On
 * Node 26 start-up otherwise compiles the resolver with Maglev too, which leaves about 3 MB of
 * its machine code and compiler memory resident in an idle proxy.
 */
import { setFlagsFromString } from 'node:v8';

/** Pauses the optimizing compiler; call the returned function (once or more) to resume it. */
export function pauseOptimizingCompiler(): () => void {
  const maglev = (process.config.variables as Record<string, unknown>).v8_enable_maglev === 1;
  setFlagsFromString('--no-turbofan');
  if (maglev) setFlagsFromString('--no-maglev');
  return () => {
    setFlagsFromString('--turbofan');
    if (maglev) setFlagsFromString('--maglev');
  };
}
