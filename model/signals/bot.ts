/**
 * Scripted-input signal: how strongly a session's input looks synthetic rather than typed by a
 * person. Three kinds of evidence, the strongest wins (docs/protocol.md "Signals"):
 *
 * - **untrusted events**: key, pointer and wheel events a page script dispatched
 *   (`isTrusted: false`). They never train or score the model (model/features); here they are
 *   counted. Input, focus and blur events are not counted: page frameworks dispatch those.
 * - **automation marker**: the page reported `navigator.webdriver` (RawEventBatch.automation).
 * - **inhuman timing**: over the last {@link BotConfig.windowPresses} trusted key presses, holds
 *   or key-down gaps far shorter than a person's (Playwright's `type()` without a delay: holds
 *   and gaps of a few ms), or holds and gaps so even that no hand made them (`type()` with a
 *   delay: every hold the same to a millisecond).
 *
 * Pure and incremental: {@link BotSignal.push} takes the same raw events the worker gets; state is
 * bounded by the window. Nothing about which key was pressed is used beyond the press pairing.
 */
import { assertInteger, assertKnownKeys, assertNumber } from '../assert';
import { FLAG, type RawEvent } from '../events/schema';
import { KeyPairer, type KeyPress } from '../features/keystroke';
import { clamp, mean, quantile, std } from '../features/stats';

/** Settings of {@link BotSignal}. Defaults in {@link DEFAULT_BOT_CONFIG}. */
export interface BotConfig {
  /**
   * Untrusted key/pointer/wheel events at which their part of the value reaches 1 (it grows
   * linearly from 0 with the count). Count, default 3, range 1–1000.
   */
  untrustedFull: number;
  /** Trusted key presses each timing check looks at (the latest ones). Count, default 12, 6–200. */
  windowPresses: number;
  /**
   * Hold (ms; the window's upper quartile) at or below which the window is fully "too fast"; the part falls linearly
   * to 0 at twice this. People hold keys 50–150 ms; recordings with a 10 ms timer show 10 ms
   * holds, so the part is 0 from there. Default 5, range 1–50.
   */
  fastHoldMs: number;
  /**
   * Key-down to key-down gap (ms; the window's upper quartile) at or below which the window is fully "too fast"; 0 at
   * twice this. Default 12 (80 keys/s; people rarely pass 15 keys/s), range 1–100.
   */
  fastGapMs: number;
  /**
   * Coefficient of variation (std / mean) of holds and of gaps at or below which the window is
   * fully "too regular" (both must be); 0 at twice this. People: 0.2–0.6. Default 0.04, 0.001–0.2.
   */
  regularCv: number;
  /** A gap longer than this (ms) is a pause, not rhythm, and is left out. Default 1500, 100–60000. */
  pauseMs: number;
}

/** The defaults of {@link BotConfig}, checked against the shared datasets in bot.test.ts. */
export const DEFAULT_BOT_CONFIG: Readonly<BotConfig> = Object.freeze({
  untrustedFull: 3,
  windowPresses: 12,
  fastHoldMs: 5,
  fastGapMs: 12,
  regularCv: 0.04,
  pauseMs: 1500,
});

/** `config` over the defaults, checked (a RangeError quotes a bad value). */
export function resolveBotConfig(config: Partial<BotConfig> = {}): BotConfig {
  assertKnownKeys('bot signal config', config, Object.keys(DEFAULT_BOT_CONFIG));
  const c = { ...DEFAULT_BOT_CONFIG, ...config };
  assertInteger('untrustedFull', c.untrustedFull, 1, 1000);
  assertInteger('windowPresses', c.windowPresses, 6, 200);
  assertNumber('fastHoldMs', c.fastHoldMs, 1, 50);
  assertNumber('fastGapMs', c.fastGapMs, 1, 100);
  assertNumber('regularCv', c.regularCv, 0.001, 0.2);
  assertNumber('pauseMs', c.pauseMs, 100, 60_000);
  return c;
}

/** Event kinds whose untrusted copies count as scripted input. */
const COUNTED_KINDS = new Set(['kd', 'ku', 'pm', 'pd', 'pu', 'wh']);

/** The share of a window's holds (gaps) that must be too fast: they are compared at this quantile. */
const FAST_QUANTILE = 0.75;

/** 1 at or below `full`, 0 at or above twice `full`, linear between. */
function below(value: number, full: number): number {
  return clamp((2 * full - value) / full, 0, 1);
}

/**
 * The timing part of one window of presses: the largest of "too fast" (holds or gaps) and
 * "too regular" (holds and gaps). Exported for tests and the dataset check.
 */
export function timingScore(presses: readonly KeyPress[], config: BotConfig): number {
  const holds = presses.map((p) => p.up - p.down);
  const gaps: number[] = [];
  for (let i = 1; i < presses.length; i++) {
    const gap = presses[i]!.down - presses[i - 1]!.down;
    if (!presses[i]!.focusBreak && gap <= config.pauseMs) gaps.push(gap);
  }
  // The upper quartile, not the median: nearly every press must be too fast. A person's text
  // also holds short machine-emitted bursts (a word completion: 2 ms holds, 3 ms apart).
  let score = below(quantile(holds, FAST_QUANTILE), config.fastHoldMs);
  // Too few gaps (pauses, field changes) say nothing about the rhythm.
  if (gaps.length >= presses.length / 2) {
    score = Math.max(score, below(quantile(gaps, FAST_QUANTILE), config.fastGapMs));
    const cv = (v: number[]): number => std(v) / Math.max(mean(v), 1);
    score = Math.max(score, below(Math.max(cv(holds), cv(gaps)), config.regularCv));
  }
  return score;
}

/** The scripted-input signal of one session. See the module comment. */
export class BotSignal {
  readonly #config: BotConfig;
  readonly #pairer = new KeyPairer();
  #recent: KeyPress[] = [];
  #untrusted = 0;
  #automation = false;
  #timing = 0;

  constructor(config: Partial<BotConfig> = {}) {
    this.#config = resolveBotConfig(config);
  }

  /** Feeds a batch's events, in order; `automation` when the batch reported the marker. */
  push(events: readonly RawEvent[], automation = false): void {
    if (automation) this.#automation = true;
    const n = this.#config.windowPresses;
    for (const e of events) {
      if (((e.f ?? 0) & FLAG.untrusted) !== 0 && COUNTED_KINDS.has(e.k)) this.#untrusted++;
      for (const press of this.#pairer.push(e)) {
        this.#recent.push(press);
        if (this.#recent.length > n) this.#recent.shift();
        if (this.#recent.length === n) {
          this.#timing = Math.max(this.#timing, timingScore(this.#recent, this.#config));
        }
      }
    }
  }

  /** Untrusted key/pointer/wheel events seen so far. */
  get untrusted(): number {
    return this.#untrusted;
  }

  /** The value in [0, 1]: the strongest evidence seen so far in the session (it never falls). */
  value(): number {
    const untrusted = Math.min(1, this.#untrusted / this.#config.untrustedFull);
    return Math.max(untrusted, this.#automation ? 1 : 0, this.#timing);
  }
}
