/**
 * One-time-code hesitation: stop-and-go entry of a one-time code, the way a victim types a code
 * someone on the phone reads out or talks them through (docs/protocol.md "Signals"). A person
 * reading their own code types it in one go or in two halves; a coached one pauses digit by
 * digit, corrects, waits.
 *
 * An entry is a run of trusted key-downs in fields the content script flagged as one-time-code
 * fields (FLAG.otp). Within an entry, each gap of at least {@link OtpConfig.pauseMs} is a pause
 * (one of {@link OtpConfig.longPauseMs} or more counts twice) and each backspace a correction
 * (half a pause). A gap across the page losing focus (`br`: the user fetched the code from
 * another tab or app) is not a pause. The entry ends at a key-down outside such a field or
 * after {@link OtpConfig.resetMs} without one. The entry's value rises from 0 at
 * `freePauses` pauses to 1 at `fullPauses`; the session's value is the largest entry value.
 */
import { assertKnownKeys, assertNumber } from '../assert';
import { FLAG, type RawEvent } from '../events/schema';
import { clamp } from '../features/stats';

/** Settings of {@link OtpSignal}. Defaults in {@link DEFAULT_OTP_CONFIG}. */
export interface OtpConfig {
  /** A gap between two code keys of at least this (ms) is a pause. Default 2000, range 200–60000. */
  pauseMs: number;
  /** A pause of at least this (ms) counts twice. Default 8000, ≥ pauseMs. */
  longPauseMs: number;
  /** A gap of at least this (ms) ends the entry (a new attempt). Default 120000, ≥ longPauseMs. */
  resetMs: number;
  /** Pauses (corrections count half) an entry may have with value 0. Default 1, range 0–20. */
  freePauses: number;
  /** Pauses at which the entry's value is 1. Default 3, > freePauses. */
  fullPauses: number;
}

/** The defaults of {@link OtpConfig}, checked against the pohmm keypad entries in otp.test.ts. */
export const DEFAULT_OTP_CONFIG: Readonly<OtpConfig> = Object.freeze({
  pauseMs: 2000,
  longPauseMs: 8000,
  resetMs: 120_000,
  freePauses: 1,
  fullPauses: 3,
});

/** `config` over the defaults, checked (a RangeError quotes a bad value). */
export function resolveOtpConfig(config: Partial<OtpConfig> = {}): OtpConfig {
  assertKnownKeys('otp signal config', config, Object.keys(DEFAULT_OTP_CONFIG));
  const c = { ...DEFAULT_OTP_CONFIG, ...config };
  assertNumber('pauseMs', c.pauseMs, 200, 60_000);
  assertNumber('longPauseMs', c.longPauseMs, c.pauseMs, 600_000);
  assertNumber('resetMs', c.resetMs, c.longPauseMs, 3_600_000);
  assertNumber('freePauses', c.freePauses, 0, 20);
  assertNumber('fullPauses', c.fullPauses, c.freePauses, 100, true);
  return c;
}

/** Flags that make a key-down not the user's own keystroke. */
const NOT_TYPED = FLAG.untrusted | FLAG.repeat;

/** The one-time-code hesitation signal of one session. See the module comment. */
export class OtpSignal {
  readonly #config: OtpConfig;
  /** Time of the entry's last code key-down; null outside an entry. */
  #lastKey: number | null = null;
  /** The page lost focus since the last code key. */
  #away = false;
  #pauses = 0;
  #value = 0;

  constructor(config: Partial<OtpConfig> = {}) {
    this.#config = resolveOtpConfig(config);
  }

  /** Feeds a batch's events, in order. */
  push(events: readonly RawEvent[]): void {
    const { pauseMs, longPauseMs, resetMs, freePauses, fullPauses } = this.#config;
    for (const e of events) {
      const f = e.f ?? 0;
      if (e.k === 'br' && (f & FLAG.untrusted) === 0) this.#away = true;
      if (e.k !== 'kd' || (f & NOT_TYPED) !== 0) continue;
      if ((f & FLAG.otp) === 0) {
        this.#end();
        continue;
      }
      if (this.#lastKey !== null) {
        const gap = e.t - this.#lastKey;
        if (gap >= resetMs) this.#end();
        else if (!this.#away && gap >= pauseMs) this.#pauses += gap >= longPauseMs ? 2 : 1;
      }
      if (e.c === 'backspace') this.#pauses += 0.5;
      this.#lastKey = e.t;
      this.#away = false;
      const entry = clamp((this.#pauses - freePauses) / (fullPauses - freePauses), 0, 1);
      this.#value = Math.max(this.#value, entry);
    }
  }

  #end(): void {
    this.#lastKey = null;
    this.#pauses = 0;
  }

  /** The value in [0, 1]: the most hesitant code entry so far in the session (it never falls). */
  value(): number {
    return this.#value;
  }
}
