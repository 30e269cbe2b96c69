/**
 * What every dataset adapter shares: the result shapes, parse statistics, strict number
 * parsing and the one function that turns timed key presses into the `kd`/`ku` stream the
 * content script produces. Pure: the adapters take file *text*; reading files is the CLI's job
 * (`model/cli/load-datasets.ts`), so other copies of the datasets can be evaluated the same way.
 */
import type { KeyClass, RawEvent } from '../events/schema';

/** One person's recordings from a keystroke dataset, as raw-event streams. */
export interface KeystrokeUser {
  /** The dataset's own user id. */
  userId: string;
  /**
   * One raw-event stream per recording unit (a typed sentence, a session), in file order. Times
   * are ms from the unit's first key press; press ids count from 1 in each stream.
   */
  sequences: RawEvent[][];
  /** The dataset's id of each stream (TEST_SECTION_ID, session), parallel to `sequences`. */
  sequenceIds: string[];
}

/** Rows an adapter read and the ones it had to skip, by reason. */
export interface ParseStats {
  /** Data rows seen (header and blank lines excluded). */
  rows: number;
  /** Rows skipped because a field was missing, not a plain number, or of the wrong kind. */
  malformed: number;
  /** Key rows skipped because the key was released before it was pressed. */
  releaseBeforePress: number;
}

/** A fresh all-zero {@link ParseStats}. */
export function emptyStats(): ParseStats {
  return { rows: 0, malformed: 0, releaseBeforePress: 0 };
}

/** Adds `b` into `a` (for totals over many files). */
export function addStats(a: ParseStats, b: Readonly<ParseStats>): ParseStats {
  a.rows += b.rows;
  a.malformed += b.malformed;
  a.releaseBeforePress += b.releaseBeforePress;
  return a;
}

/**
 * Plain decimal numbers only ("123", "-4", "12.5"): `Number()` would also take "1.471968e+12",
 * a rounded time found in the Aalto data, "", "0x1f" and "Infinity".
 */
const DECIMAL = /^-?\d+(\.\d+)?$/;

/** Parses a plain decimal number, or returns `undefined`. */
export function parseDecimal(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const s = text.trim();
  return DECIMAL.test(s) ? Number(s) : undefined;
}

/** Splits file text into lines, dropping `\r` of CRLF files and a BOM. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0) lines[0] = lines[0]!.replace(/^\uFEFF/, '');
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** One key press as a dataset records it (any time origin, ms). */
export interface TimedPress {
  press: number;
  release: number;
  c: KeyClass;
}

/**
 * The `kd`/`ku` events of `presses` as the content script would have captured them: times
 * relative to the earliest press, press ids 1, 2, … in the given order, events sorted by time
 * (a press's `kd` before its own `ku` when they share a time; otherwise ties keep row order).
 * The caller has already dropped presses released before they were pressed.
 */
export function keyEvents(presses: readonly TimedPress[]): RawEvent[] {
  if (presses.length === 0) return [];
  let t0 = Infinity;
  for (const p of presses) t0 = Math.min(t0, p.press);
  const events: { e: RawEvent; order: number }[] = [];
  presses.forEach((p, k) => {
    events.push({ e: { t: p.press - t0, k: 'kd', c: p.c, i: k + 1 }, order: 2 * k });
    events.push({ e: { t: p.release - t0, k: 'ku', c: p.c, i: k + 1 }, order: 2 * k + 1 });
  });
  events.sort((a, b) => a.e.t - b.e.t || a.order - b.order);
  return events.map((x) => x.e);
}

const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{N}$/u;

/**
 * Class of a printed character, by the rules of the content script's `keyClass` (space, a
 * Unicode letter, a Unicode digit, anything else printable is punctuation); `undefined` for
 * anything that is not one printable character.
 */
export function characterClass(ch: string): KeyClass | undefined {
  if ([...ch].length !== 1) return undefined;
  if (ch === ' ') return 'space';
  // Control characters (a logged backspace \b, tab, DEL) are not printed characters.
  if (/^[\u0000-\u001f\u007f]$/.test(ch)) return undefined;
  if (LETTER.test(ch)) return 'letter';
  if (DIGIT.test(ch)) return 'digit';
  return 'punct';
}
