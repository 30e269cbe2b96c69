/**
 * Remote-control suspicion: pointer movement that looks relayed by a remote-desktop tool
 * (docs/protocol.md "Signals"). A local mouse reaches the page at the display or device rate
 * (60 Hz and up: a move every ≤ 17 ms while the hand moves), in small steps. A remote viewer
 * forwards the controller's pointer in network or capture ticks: while the pointer moves, moves
 * arrive at a low, constant rate (every 30–100 ms, to the millisecond alike), each a coarse jump.
 * The latency itself cannot be seen from the page; this is its footprint.
 *
 * Over the latest {@link RemoteConfig.windowMoves} moving intervals (consecutive trusted pointer
 * moves at least a pixel apart, not across a rest), the window's value is the smallest of three
 * parts: a low sampling rate, periodic intervals, and coarse steps. All three must hold: slow
 * genuine movement has long intervals but small steps; fast genuine movement has coarse steps
 * but short intervals. The session's value is the largest window value so far.
 */
import { assertInteger, assertKnownKeys, assertNumber } from '../assert';
import { FLAG, type RawEvent } from '../events/schema';
import { clamp, median } from '../features/stats';

/** Settings of {@link RemoteSignal}. Defaults in {@link DEFAULT_REMOTE_CONFIG}. */
export interface RemoteConfig {
  /** Moving intervals each check looks at (the latest ones). Count, default 24, range 8–500. */
  windowMoves: number;
  /**
   * Median interval (ms) between moves from which the rate part starts to rise (0 here, 1 at
   * `slowFullMs`). Default 36 (slower than two frames at 60 Hz: a lagging local machine), range 5–200.
   */
  slowFromMs: number;
  /** Median interval (ms) at which the rate part is 1. Default 45 (22 Hz), > slowFromMs. */
  slowFullMs: number;
  /**
   * An interval is "on the period" when within this fraction of the median interval (at least
   * 2 ms): network jitter around a remote tick. Default 0.15, range 0.01–0.5.
   */
  periodTolerance: number;
  /** Share of intervals on the period at which the periodic part starts to rise. Default 0.5. */
  periodicFrom: number;
  /** Share of intervals on the period at which the periodic part is 1. Default 0.8. */
  periodicFull: number;
  /** Median step (px) from which the coarse part starts to rise. Default 12, range 1–500. */
  jumpFromPx: number;
  /** Median step (px) at which the coarse part is 1. Default 25, > jumpFromPx. */
  jumpFullPx: number;
  /** A gap longer than this (ms) is the pointer at rest: intervals across it are left out. Default 250. */
  restMs: number;
}

/** The defaults of {@link RemoteConfig}, checked against SapiMouse in remote.test.ts. */
export const DEFAULT_REMOTE_CONFIG: Readonly<RemoteConfig> = Object.freeze({
  windowMoves: 48,
  slowFromMs: 36,
  slowFullMs: 45,
  periodTolerance: 0.15,
  periodicFrom: 0.5,
  periodicFull: 0.8,
  jumpFromPx: 12,
  jumpFullPx: 25,
  restMs: 250,
});

/** `config` over the defaults, checked (a RangeError quotes a bad value). */
export function resolveRemoteConfig(config: Partial<RemoteConfig> = {}): RemoteConfig {
  assertKnownKeys('remote signal config', config, Object.keys(DEFAULT_REMOTE_CONFIG));
  const c = { ...DEFAULT_REMOTE_CONFIG, ...config };
  assertInteger('windowMoves', c.windowMoves, 8, 500);
  assertNumber('slowFromMs', c.slowFromMs, 5, 200);
  assertNumber('slowFullMs', c.slowFullMs, c.slowFromMs, 1000, true);
  assertNumber('periodTolerance', c.periodTolerance, 0.01, 0.5);
  assertNumber('periodicFrom', c.periodicFrom, 0, 1);
  assertNumber('periodicFull', c.periodicFull, c.periodicFrom, 1, true);
  assertNumber('jumpFromPx', c.jumpFromPx, 1, 500);
  assertNumber('jumpFullPx', c.jumpFullPx, c.jumpFromPx, 5000, true);
  assertNumber('restMs', c.restMs, 50, 10_000);
  return c;
}

/** 0 at or below `from`, 1 at or above `full`, linear between. */
function rise(value: number, from: number, full: number): number {
  return clamp((value - from) / (full - from), 0, 1);
}

/** Intervals between two checks of the window. */
const CHECK_EVERY = 8;

/** One interval between two moves: its duration (ms) and length (px). */
export interface MoveInterval {
  dt: number;
  d: number;
}

/** The value of one window of moving intervals. Exported for tests and the dataset check. */
export function remoteWindowScore(
  intervals: readonly MoveInterval[],
  config: RemoteConfig,
): number {
  const dts = intervals.map((w) => w.dt);
  const period = median(dts);
  const rate = rise(period, config.slowFromMs, config.slowFullMs);
  // Most windows of a local pointer end here: the rest is not computed for them.
  if (rate === 0) return 0;
  const tolerance = Math.max(2, config.periodTolerance * period);
  const onPeriod = dts.filter((dt) => Math.abs(dt - period) <= tolerance).length / dts.length;
  return Math.min(
    rate,
    rise(onPeriod, config.periodicFrom, config.periodicFull),
    rise(median(intervals.map((w) => w.d)), config.jumpFromPx, config.jumpFullPx),
  );
}

/** The remote-control signal of one session. See the module comment. */
export class RemoteSignal {
  readonly #config: RemoteConfig;
  #last: { t: number; x: number; y: number } | null = null;
  #recent: MoveInterval[] = [];
  #value = 0;
  #since = 0;

  constructor(config: Partial<RemoteConfig> = {}) {
    this.#config = resolveRemoteConfig(config);
  }

  /** Feeds a batch's events, in order. */
  push(events: readonly RawEvent[]): void {
    const { windowMoves, restMs } = this.#config;
    for (const e of events) {
      if (e.k === 'br') this.#last = null;
      if (e.k !== 'pm' || ((e.f ?? 0) & FLAG.untrusted) !== 0) continue;
      if (e.x === undefined || e.y === undefined || !Number.isFinite(e.t)) continue;
      const last = this.#last;
      this.#last = { t: e.t, x: e.x, y: e.y };
      if (last === null) continue;
      const dt = e.t - last.t;
      const dx = e.x - last.x;
      const dy = e.y - last.y;
      const d = Math.sqrt(dx * dx + dy * dy);
      // Same-place or same-time moves (coalesced duplicates) and rests are not intervals.
      if (dt <= 0 || dt > restMs || d < 1) continue;
      this.#recent.push({ dt, d });
      if (this.#recent.length > windowMoves) this.#recent.shift();
      // Checked every few intervals rather than at each: the window moves slowly.
      if (this.#recent.length === windowMoves && ++this.#since >= CHECK_EVERY) {
        this.#since = 0;
        this.#value = Math.max(this.#value, remoteWindowScore(this.#recent, this.#config));
      }
    }
  }

  /** The value in [0, 1]: the most remote-like window so far in the session (it never falls). */
  value(): number {
    return this.#value;
  }
}
