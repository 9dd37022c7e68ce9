/**
 * Splits requests between clusters by weight with smooth weighted round robin (as nginx
 * does for servers): the split is exact over every window of sum(weights) requests and
 * interleaved rather than bursty, so a 10/90 canary gets 1 of every 10 requests.
 */
export class WeightedChoice<T> {
  private readonly current: number[];
  private readonly total: number;

  constructor(private readonly choices: readonly { readonly value: T; readonly weight: number }[]) {
    this.current = choices.map(() => 0);
    this.total = choices.reduce((sum, c) => sum + c.weight, 0);
    if (this.total <= 0) throw new Error('weighted choice needs a weight above 0');
  }

  next(): T {
    let best = 0;
    for (let i = 0; i < this.choices.length; i++) {
      this.current[i]! += this.choices[i]!.weight;
      if (this.current[i]! > this.current[best]!) best = i;
    }
    this.current[best]! -= this.total;
    return this.choices[best]!.value;
  }
}
