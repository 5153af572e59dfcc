/** Where services read the time: the system clock in production, a controlled one in tests. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Whole seconds since the epoch (JWT time claims). */
export function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
