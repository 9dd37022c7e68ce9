/**
 * The monotonic clock (`performance.now()`, ms) read once per event-loop turn and shared by
 * whatever needs only timeout precision: route deadlines, idle and keep-alive times of
 * connections. A small proxied request read the clock about eight times (~40 ns each);
 * at saturation a turn serves a few dozen requests, and they now share one read.
 *
 * The value is as old as the turn that is running (a setImmediate clears it after the
 * turn's I/O callbacks, and a pending immediate keeps the loop from blocking in between),
 * so a time taken with it is off by at most that much: milliseconds, against timeouts
 * set in seconds and mostly checked once a second. Timers that check deadlines, and
 * latency measurements (access log, balancing observers), read `performance.now()`.
 */
let cached = 0;
let fresh = false;

function expire(): void {
  fresh = false;
}

export function turnNow(): number {
  if (!fresh) {
    cached = performance.now();
    fresh = true;
    setImmediate(expire);
  }
  return cached;
}
