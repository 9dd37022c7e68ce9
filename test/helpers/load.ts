import type { TestContext } from 'node:test';
import autocannon from 'autocannon';

/** Load running in the background; `stop()` ends it and resolves with its result. */
export interface RunningLoad {
  stop(): Promise<autocannon.Result>;
}

/**
 * Starts autocannon against loopback; `options.duration` bounds it, and the test's end stops
 * it too. An autocannon error rejects `stop()`.
 */
export function startLoad(t: TestContext, options: autocannon.Options): RunningLoad {
  let instance: autocannon.Instance | undefined;
  const result = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(options, (error, r) => (error ? reject(error) : resolve(r)));
  });
  result.catch(() => {}); // reported through stop(); never an unhandled rejection
  t.after(() => instance?.stop());
  return {
    stop() {
      instance?.stop();
      return result;
    },
  };
}
