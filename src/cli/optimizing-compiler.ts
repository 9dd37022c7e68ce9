/**
 * Start-up with V8's optimizing compiler (TurboFan) paused.
 *
 * Starting `portside run` imports about a hundred modules, which runs Node's module resolver
 * often enough for V8 to optimize it. The first optimization maps about 3.5 MB of TurboFan's
 * own machine code from the `node` binary, and those pages stay resident for the process's
 * life. Code that runs once needs no optimizing, so start-up runs without it and the
 * compiler comes back as soon as the proxy serves: request paths are still optimized, once
 * traffic makes them hot. (Node 22 and later also have Maglev, a lighter optimizing tier
 * that is left as it is.)
 */
import { setFlagsFromString } from 'node:v8';

/** Pauses the optimizing compiler; call the returned function (once or more) to resume it. */
export function pauseOptimizingCompiler(): () => void {
  setFlagsFromString('--no-turbofan');
  return () => setFlagsFromString('--turbofan');
}
