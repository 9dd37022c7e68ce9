import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls `check` until it returns a truthy value or `timeoutMs` passes. For conditions
 * that have no event to await (e.g. "the endpoint is eventually marked down").
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  {
    timeoutMs = 5000,
    intervalMs = 10,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string | (() => string) } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const described = typeof what === 'function' ? what() : what;
      throw new Error(
        `timed out after ${timeoutMs}ms waiting for ${described}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await delay(intervalMs);
  }
}
