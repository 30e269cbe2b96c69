/**
 * Adapter for the Aalto "136M Keystrokes" free-text typing data (Dhakal et al., CHI 2018): one
 * participant's TSV file → the raw-event streams the content script would have captured, one
 * per typed sentence. Only the key class and the times survive; LETTER and KEYCODE are read to
 * classify the key and then dropped, as the content script drops `event.key`.
 */
import type { KeyClass } from '../events/schema';
import {
  type KeystrokeUser,
  type ParseStats,
  type TimedPress,
  characterClass,
  emptyStats,
  keyEvents,
  parseDecimal,
  splitLines,
} from './common';

/** The columns of an Aalto keystrokes file, in order. */
export const AALTO_COLUMNS = Object.freeze([
  'PARTICIPANT_ID',
  'TEST_SECTION_ID',
  'SENTENCE',
  'USER_INPUT',
  'KEYSTROKE_ID',
  'PRESS_TIME',
  'RELEASE_TIME',
  'LETTER',
  'KEYCODE',
] as const);

/** One participant's file, parsed. */
export interface AaltoUser extends KeystrokeUser {
  /** Rows read and skipped (malformed, another participant's, released before pressed). */
  stats: ParseStats;
}

/**
 * Key codes of keys that print nothing: the code is the key, whatever LETTER says (LETTER is
 * sometimes a character typed by a neighbouring event, e.g. "?" on the Shift row).
 */
const NON_PRINTING: ReadonlyMap<number, KeyClass> = new Map<number, KeyClass>([
  [8, 'backspace'],
  [46, 'backspace'], // Delete: the content script classes it with Backspace
  [13, 'enter'],
  [32, 'space'],
  ...[16, 17, 18, 20, 91, 92, 224, 225].map((c): [number, KeyClass] => [c, 'modifier']),
  ...[9, 27, 33, 34, 35, 36, 37, 38, 39, 40].map((c): [number, KeyClass] => [c, 'nav']),
]);

/** Named LETTER values of the Aalto logger, for rows whose key code says nothing. */
const NAMED: ReadonlyMap<string, KeyClass> = new Map<string, KeyClass>([
  ['BKSP', 'backspace'],
  ['DELETE', 'backspace'],
  ['ENTER', 'enter'],
  ['SPACE', 'space'],
  ['SHIFT', 'modifier'],
  ['CTRL', 'modifier'],
  ['ALT', 'modifier'],
  ['CAPS_LOCK', 'modifier'],
  ['META', 'modifier'],
  ['TAB', 'nav'],
  ['ESC', 'nav'],
  ['ARW_LEFT', 'nav'],
  ['ARW_RIGHT', 'nav'],
  ['ARW_UP', 'nav'],
  ['ARW_DOWN', 'nav'],
]);

/** Class of a printing key by its code, when LETTER is not one printable character. */
function printingCodeClass(code: number): KeyClass | undefined {
  if (code >= 65 && code <= 90) return 'letter';
  if ((code >= 48 && code <= 57) || (code >= 96 && code <= 105)) return 'digit';
  if (
    code === 59 ||
    code === 61 ||
    code === 173 ||
    (code >= 106 && code <= 111) ||
    (code >= 186 && code <= 192) ||
    (code >= 219 && code <= 223) ||
    code === 226
  ) {
    return 'punct';
  }
  return undefined;
}

/**
 * The content script's key class for an Aalto row: a non-printing key code decides; otherwise a
 * one-character LETTER is classed like `event.key` (so Shift+1 "!" is punctuation, as in the
 * browser); otherwise the key code's printing class, then LETTER's name; else `other`
 * (Insert, NumLock, function keys, key code 0 or 229 without a character).
 */
export function aaltoKeyClass(letter: string, keyCode: number | undefined): KeyClass {
  const byCode = keyCode === undefined ? undefined : NON_PRINTING.get(keyCode);
  if (byCode !== undefined) return byCode;
  const byChar = characterClass(letter);
  if (byChar !== undefined) return byChar;
  if (letter === '\b') return 'backspace';
  const byPrinting = keyCode === undefined ? undefined : printingCodeClass(keyCode);
  if (byPrinting !== undefined) return byPrinting;
  return NAMED.get(letter.trim().toUpperCase()) ?? 'other';
}

/**
 * Parses one participant's Aalto TSV text. Sequences are the TEST_SECTION_IDs in order of first
 * appearance. Skipped and counted: rows without 9 tab-separated fields, with times that are not
 * plain integers (the data has a few like "1.471968e+12"), of another participant, or released
 * before pressed. Times are ms from the sequence's first press.
 * @param fallbackUserId user id when the file has no usable row.
 * @throws {TypeError} when the header is not the Aalto header (not an Aalto file).
 */
export function parseAalto(text: string, fallbackUserId = ''): AaltoUser {
  const lines = splitLines(text);
  const header = (lines[0] ?? '').split('\t').map((h) => h.trim());
  if (header.length !== AALTO_COLUMNS.length || header.some((h, j) => h !== AALTO_COLUMNS[j])) {
    throw new TypeError('not an Aalto keystrokes file: unexpected header');
  }
  const stats = emptyStats();
  let userId: string | undefined;
  const sections = new Map<string, TimedPress[]>();
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '') continue;
    stats.rows++;
    const f = line.split('\t');
    if (f.length !== AALTO_COLUMNS.length) {
      stats.malformed++;
      continue;
    }
    const participant = f[0]!.trim();
    const section = f[1]!.trim();
    const press = parseDecimal(f[5]);
    const release = parseDecimal(f[6]);
    const code = parseDecimal(f[8]);
    if (
      participant === '' ||
      section === '' ||
      press === undefined ||
      release === undefined ||
      !Number.isInteger(press) ||
      !Number.isInteger(release) ||
      (userId !== undefined && participant !== userId)
    ) {
      stats.malformed++;
      continue;
    }
    if (release < press) {
      stats.releaseBeforePress++;
      continue;
    }
    userId ??= participant;
    let presses = sections.get(section);
    if (presses === undefined) sections.set(section, (presses = []));
    // LETTER is not trimmed: a space character is the space bar.
    presses.push({ press, release, c: aaltoKeyClass(f[7]!, code) });
  }
  return {
    userId: userId ?? fallbackUserId,
    sequences: [...sections.values()].map(keyEvents),
    sequenceIds: [...sections.keys()],
    stats,
  };
}
