/**
 * Keystroke features: pairing `kd`/`ku` events into presses by press id, and the v2 feature
 * vector of a run of presses (see {@link KEYSTROKE_FEATURES}).
 */
import { FLAG, type KeyClass, type RawEvent } from '../events/schema';
import { KEYSTROKE_FEATURES, KEYSTROKE_LIMITS } from './schema';
import { clamp, isFiniteNumber, mean, median, std } from './stats';

/** One complete key press: times in ms on the page timeline. */
export interface KeyPress {
  /** `kd` time (ms). */
  down: number;
  /** `ku` time (ms), ≥ `down`. */
  up: number;
  /** Key class of the press. */
  c: KeyClass;
  /**
   * True when the focus moved (`fc`) or the page was blurred (`br`) between the previous press's
   * key-down and this one: the flight into this press is not a typing rhythm. Absent means false.
   */
  focusBreak?: boolean;
}

/**
 * Flags that make a key event unusable for learning: synthetic events are not the user, key
 * auto-repeat is the OS's rhythm, IME composition events have no reliable key timing, and
 * paste or autofill changed the text without the keys' rhythm. Such events are "no data",
 * never evidence against the user.
 */
export const IGNORED_KEY_FLAGS =
  FLAG.untrusted | FLAG.repeat | FLAG.composing | FLAG.paste | FLAG.autofill;

/** True when `e` is a `kd`/`ku` with a finite time and press id and none of {@link IGNORED_KEY_FLAGS}. */
export function isUsableKeyEvent(e: RawEvent): boolean {
  return (
    (e.k === 'kd' || e.k === 'ku') &&
    isFiniteNumber(e.t) &&
    isFiniteNumber(e.i) &&
    ((e.f ?? 0) & IGNORED_KEY_FLAGS) === 0
  );
}

interface PendingPress {
  id: number;
  down: number;
  up: number | undefined;
  c: KeyClass;
  cancelled: boolean;
  focusBreak: boolean;
}

/**
 * Streaming `kd`/`ku` pairing by press id. Presses come out in key-down order, so a press is
 * released only once every earlier press is complete: with roll-over (B down before A up, or
 * even B up before A up) the order is still A, B. Rules:
 * - a `kd` with an ignored flag is skipped; a second `kd` for an open id is skipped (it is
 *   auto-repeat even if unflagged);
 * - a `ku` with no open `kd` is skipped;
 * - a `ku` with an ignored flag *cancels* its open press, so one odd event cannot stall the queue;
 * - a trusted `fc` marks the next accepted press with `focusBreak`;
 * - a trusted `br` forgets every open and queued press (keys released while the page has no
 *   focus send no `ku`) and marks the next accepted press with `focusBreak`.
 */
export class KeyPairer {
  private readonly open = new Map<number, PendingPress>();
  private queue: PendingPress[] = [];
  private breakPending = false;

  /** Feeds one event (other kinds are ignored); returns the presses it completed, in order. */
  push(e: RawEvent): KeyPress[] {
    if (e.k === 'fc' || e.k === 'br') {
      // A page script must not be able to split or discard the user's rhythm with fake events.
      if (((e.f ?? 0) & FLAG.untrusted) !== 0) return [];
      if (e.k === 'br') this.reset();
      this.breakPending = true;
      return [];
    }
    if ((e.k !== 'kd' && e.k !== 'ku') || !isFiniteNumber(e.t) || !isFiniteNumber(e.i)) return [];
    const usable = ((e.f ?? 0) & IGNORED_KEY_FLAGS) === 0;
    if (e.k === 'kd') {
      if (!usable || this.open.has(e.i)) return [];
      const press: PendingPress = {
        id: e.i,
        down: e.t,
        up: undefined,
        c: e.c ?? 'other',
        cancelled: false,
        focusBreak: this.breakPending,
      };
      this.breakPending = false;
      this.open.set(e.i, press);
      this.queue.push(press);
      return [];
    }
    const press = this.open.get(e.i);
    if (press === undefined) return [];
    this.open.delete(e.i);
    if (usable) press.up = Math.max(e.t, press.down);
    else press.cancelled = true;
    return this.drain();
  }

  /**
   * True when {@link push} would use `e`: a flag-free `kd` with a new press id, or a `ku` whose
   * press is open (a flagged one cancels it). Everything else is ignored without effect.
   */
  wouldUse(e: RawEvent): boolean {
    if (!isFiniteNumber(e.t) || !isFiniteNumber(e.i)) return false;
    if (e.k === 'ku') return this.open.has(e.i);
    return e.k === 'kd' && ((e.f ?? 0) & IGNORED_KEY_FLAGS) === 0 && !this.open.has(e.i);
  }

  /** Key-down time of the oldest press still waiting for its `ku`, if any. */
  oldestOpenDown(): number | undefined {
    for (const p of this.queue) if (p.up === undefined && !p.cancelled) return p.down;
    return undefined;
  }

  /** Number of presses seen but not yet released (open, or complete behind an open one). */
  get pending(): number {
    return this.queue.length;
  }

  /** Forgets every open and queued press and any pending focus break. */
  reset(): void {
    this.open.clear();
    this.queue = [];
    this.breakPending = false;
  }

  private drain(): KeyPress[] {
    const out: KeyPress[] = [];
    let n = 0;
    while (n < this.queue.length) {
      const p = this.queue[n]!;
      if (p.cancelled) {
        n++;
        continue;
      }
      if (p.up === undefined) break;
      const press: KeyPress = { down: p.down, up: p.up, c: p.c };
      if (p.focusBreak) press.focusBreak = true;
      out.push(press);
      n++;
    }
    if (n > 0) this.queue = this.queue.slice(n);
    return out;
  }
}

/**
 * Pairs a complete list of raw events into presses (key-down order), with the same rules as the
 * streaming windower (including `fc` and `br`) but without its long-pause handling; presses with
 * no usable `ku` are dropped.
 */
export function pairKeyPresses(events: readonly RawEvent[]): KeyPress[] {
  const pairer = new KeyPairer();
  const out: KeyPress[] = [];
  for (const e of events) out.push(...pairer.push(e));
  return out;
}

/**
 * The v2 keystroke feature vector of a run of presses (see {@link KEYSTROKE_FEATURES} for every
 * definition). Presses are sorted by `down` first. Every output is finite, whatever the input:
 * presses with a non-finite time are dropped, fewer than two presses (or only pauses and focus
 * breaks between them) give 0 for every flight feature, and an empty list gives all zeros.
 */
export function keystrokeFeatures(presses: readonly KeyPress[]): Float32Array {
  const L = KEYSTROKE_LIMITS;
  const ps = presses
    .filter((p) => isFiniteNumber(p.down) && isFiniteNumber(p.up))
    .slice()
    .sort((a, b) => a.down - b.down);
  const n = ps.length;
  const out = new Float32Array(KEYSTROKE_FEATURES.length);
  if (n === 0) return out;

  const holds = ps.map((p) => clamp(p.up - p.down, 0, L.holdClipMs));
  const byClass = (keep: (c: KeyClass) => boolean): number[] =>
    holds.filter((_, k) => keep(ps[k]!.c));

  const dd: number[] = [];
  const ud: number[] = [];
  const uu: number[] = [];
  const du: number[] = [];
  const ddLetterLetter: number[] = [];
  const ddLetterSpace: number[] = [];
  const ddSpaceLetter: number[] = [];
  const trigraphs: number[] = [];
  let rollovers = 0;
  let pauses = 0;
  let breaks = 0;
  let activeMs = holds[n - 1]!;
  // dd of pair (k-2, k-1) when that pair was a rhythm pair and not a pause, for trigraphs.
  let prevDd: number | undefined;
  for (let k = 1; k < n; k++) {
    const prev = ps[k - 1]!;
    const cur = ps[k]!;
    // The flight across a focus change is the time to click or tab into another field: not a
    // typing rhythm, and not a hesitation either, so it is left out of every statistic.
    if (cur.focusBreak === true) {
      breaks++;
      prevDd = undefined;
      continue;
    }
    const rawUd = cur.down - prev.up;
    const ddk = clamp(cur.down - prev.down, 0, L.flightClipMs);
    activeMs += ddk;
    if (rawUd < 0) rollovers++;
    // A pause is not rhythm: it is counted in pause_fraction and kept out of the flight
    // statistics, so one long pause cannot dominate a window's means and stds.
    if (rawUd > L.pauseMs) {
      pauses++;
      prevDd = undefined;
      continue;
    }
    dd.push(ddk);
    ud.push(clamp(rawUd, -L.flightClipMs, L.flightClipMs));
    uu.push(clamp(cur.up - prev.up, -L.flightClipMs, L.flightClipMs));
    du.push(clamp(cur.up - prev.down, 0, L.flightClipMs));
    if (prev.c === 'letter' && cur.c === 'letter') {
      ddLetterLetter.push(ddk);
      if (prevDd !== undefined && ps[k - 2]!.c === 'letter') trigraphs.push(prevDd + ddk);
    } else if (prev.c === 'letter' && cur.c === 'space') ddLetterSpace.push(ddk);
    else if (prev.c === 'space' && cur.c === 'letter') ddSpaceLetter.push(ddk);
    prevDd = ddk;
  }
  const rhythmPairs = n - 1 - breaks;

  const holdMean = mean(holds);
  const ddMean = mean(dd);
  const rate = activeMs > 0 ? clamp(((n - breaks) * 1000) / activeMs, 0, L.maxRateKps) : 0;

  const values = [
    holdMean,
    std(holds),
    median(holds),
    mean(
      byClass((c) => c === 'letter'),
      holdMean,
    ),
    mean(
      byClass((c) => c === 'space'),
      holdMean,
    ),
    mean(
      byClass((c) => c !== 'letter' && c !== 'space'),
      holdMean,
    ),
    ddMean,
    std(dd),
    median(dd),
    mean(ud),
    std(ud),
    median(ud),
    mean(uu),
    std(uu),
    mean(du),
    std(du),
    rate,
    ps.filter((p) => p.c === 'backspace').length / n,
    rhythmPairs > 0 ? rollovers / rhythmPairs : 0,
    rhythmPairs > 0 ? pauses / rhythmPairs : 0,
    // Absent digraph kinds fall back to the window's own rhythm, so that a window without,
    // say, a space does not look like an anomaly.
    mean(ddLetterLetter, ddMean),
    mean(ddLetterSpace, ddMean),
    mean(ddSpaceLetter, ddMean),
    mean(trigraphs, 2 * ddMean),
  ];
  for (let j = 0; j < values.length; j++) out[j] = values[j]!;
  return out;
}
