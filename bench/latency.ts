/**
 * A latency histogram with 1 µs resolution up to 100 ms (autocannon's own one rounds to
 * whole milliseconds, too coarse for a 3 ms p99 target). Slower samples are kept exactly.
 */
const RANGE_US = 100_000;

export class LatencyHistogram {
  private readonly buckets = new Uint32Array(RANGE_US);
  private readonly slow: number[] = [];
  count = 0;
  private maxMicros = Number.NaN;

  recordMs(milliseconds: number): void {
    const micros = Math.round(milliseconds * 1000);
    this.count++;
    if (!(micros <= this.maxMicros)) this.maxMicros = micros;
    if (micros < RANGE_US) this.buckets[micros]!++;
    else this.slow.push(micros);
  }

  /** The slowest sample in milliseconds; NaN when empty. */
  maxMs(): number {
    return this.maxMicros / 1000;
  }

  /** The latency in milliseconds below which `percent` % of samples fall; NaN when empty. */
  percentileMs(percent: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((percent / 100) * this.count));
    let seen = 0;
    for (let micros = 0; micros < RANGE_US; micros++) {
      seen += this.buckets[micros]!;
      if (seen >= rank) return micros / 1000;
    }
    this.slow.sort((a, b) => a - b);
    return this.slow[rank - seen - 1]! / 1000;
  }
}
