/**
 * Notices a stream that stops making progress, from a count looked at only when the
 * handler's clock ticks (a socket's `bytesRead`, which libuv keeps anyway): nothing is
 * re-armed or even counted per read, so the hot path pays nothing for the timeout.
 */
export class StallWatch {
  private mark = -1;
  private since = 0;

  /** Not waiting on the peer now (paused, or not started): the next look starts afresh. */
  reset(): void {
    this.mark = -1;
  }

  /**
   * True once `count` has not moved for `limitMs` (`now` is `performance.now()`). The
   * first look after a reset only records, so the limit is met within one clock tick late.
   */
  stalled(count: number, now: number, limitMs: number): boolean {
    if (count !== this.mark) {
      this.mark = count;
      this.since = now;
      return false;
    }
    return now - this.since >= limitMs;
  }
}
