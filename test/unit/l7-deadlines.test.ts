import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type DeadlineList, Deadlines, type Timed } from '../../src/l7/deadlines.js';

/** A request stand-in that records when its deadline passed. */
class Entry implements Timed {
  deadlineAt = 0;
  prevTimed: Timed | null = null;
  nextTimed: Timed | null = null;
  timedList: DeadlineList | null = null;
  passedAt: number | undefined;
  constructor(
    readonly name: string,
    private readonly log: string[],
    private readonly events: EventEmitter,
  ) {}
  deadlinePassed(): void {
    this.passedAt = performance.now();
    this.log.push(this.name);
    this.events.emit('passed', this.name);
  }
}

describe('route deadlines', { timeout: 10_000 }, () => {
  // The lists' timers are unreferenced (a request in flight holds its socket); a test has no socket.
  let keepAlive: NodeJS.Timeout;
  beforeEach(() => {
    keepAlive = setInterval(() => {}, 1000);
  });
  afterEach(() => clearInterval(keepAlive));

  it('expire in the order they were added, never early, and not after removal', async () => {
    const deadlines = new Deadlines();
    const log: string[] = [];
    const events = new EventEmitter();
    const make = (name: string) => new Entry(name, log, events);
    const [a, b, c, d] = [make('a'), make('b'), make('c'), make('d')];
    const started = performance.now();
    deadlines.add(a, 40);
    deadlines.add(b, 40);
    deadlines.add(c, 40);
    // A different timeout value gets its own list (and its own order).
    deadlines.add(d, 15);
    a.timedList!.remove(a);
    assert.equal(a.timedList, null);
    b.timedList!.remove(b);
    while (log.length < 2) await once(events, 'passed', { signal: AbortSignal.timeout(5000) });
    assert.deepEqual(log, ['d', 'c']);
    assert.ok(d.passedAt! - started >= 15, `d after ${d.passedAt! - started} ms`);
    assert.ok(c.passedAt! - started >= 40, `c after ${c.passedAt! - started} ms`);
    assert.equal(c.timedList, null);
    assert.equal(a.passedAt, undefined);
    assert.equal(b.passedAt, undefined);
    deadlines.stop();
  });

  it('re-arms for entries added while the list was waiting, and stop() silences the rest', async () => {
    const deadlines = new Deadlines();
    const log: string[] = [];
    const events = new EventEmitter();
    const first = new Entry('first', log, events);
    deadlines.add(first, 20);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const second = new Entry('second', log, events);
    const secondAdded = performance.now();
    deadlines.add(second, 20);
    while (log.length < 2) await once(events, 'passed', { signal: AbortSignal.timeout(5000) });
    assert.deepEqual(log, ['first', 'second']);
    assert.ok(second.passedAt! - secondAdded >= 20);
    const third = new Entry('third', log, events);
    deadlines.add(third, 10);
    deadlines.stop();
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.deepEqual(log, ['first', 'second']);
  });
});
