/** A clock the test moves by hand: expiries are reached by advancing it, not by waiting. */
import type { Clock } from '../../src/util/clock.js';

export class TestClock implements Clock {
  constructor(private ms = Date.now()) {}

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}
