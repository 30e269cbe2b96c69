/**
 * The server's only source of "now". Injected everywhere so tests can freeze and advance time
 * and so every check in one request sees the same instant.
 *
 * @module
 */

/** Milliseconds since the Unix epoch. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to (tests, simulations). */
export interface ManualClock extends Clock {
  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void;
  /** Sets the clock to `ms` since the epoch. */
  set(ms: number): void;
}

/** Creates a {@link ManualClock} starting at `start` ms since the epoch. */
export function manualClock(start: number): ManualClock {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (ms) => {
      t = ms;
    },
  };
}
