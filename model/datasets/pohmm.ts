/**
 * Adapter for the keystroke data of `vmonaco/pohmm-keystroke` (Monaco & Tappert, Pattern
 * Recognition 2018): `keypad.csv` (CMU PIN entry, `user,session,timepress,timerelease,keycode,
 * keyname`) and `fixed_text.csv` (`user,session,keyname,timepress,timerelease`) → per user, one
 * raw-event stream per session. Columns are found by header name, so one parser reads both.
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

/** The columns a pohmm file must have (others, such as `keycode`, are ignored). */
export const POHMM_COLUMNS = Object.freeze([
  'user',
  'session',
  'timepress',
  'timerelease',
  'keyname',
] as const);

/** One pohmm file, parsed. */
export interface PohmmData {
  /** Users in order of first appearance; sessions in order of first appearance per user. */
  users: KeystrokeUser[];
  /** Rows read and skipped. */
  stats: ParseStats;
}

const NAMED: ReadonlyMap<string, KeyClass> = new Map<string, KeyClass>([
  ['space', 'space'],
  ['enter', 'enter'],
  ['return', 'enter'],
  ['backspace', 'backspace'],
  ['delete', 'backspace'],
  ...['shift', 'ctrl', 'control', 'alt', 'windows', 'command', 'meta', 'caps_lock'].map(
    (n): [string, KeyClass] => [n, 'modifier'],
  ),
  ...['left', 'right', 'up', 'down', 'home', 'end', 'page_up', 'page_down', 'tab', 'escape'].map(
    (n): [string, KeyClass] => [n, 'nav'],
  ),
  ...[
    'period',
    'comma',
    'quote',
    'semicolon',
    'slash',
    'backslash',
    'dash',
    'minus',
    'equal',
    'equals',
    'bracketleft',
    'bracketright',
    'grave',
  ].map((n): [string, KeyClass] => [n, 'punct']),
]);

/**
 * The content script's key class for a pohmm key name: one printable character by its kind,
 * `numpad_N` a digit, names by the table above (`shift_r` and the like by their prefix), else
 * `other`.
 */
export function pohmmKeyClass(keyname: string): KeyClass {
  const name = keyname.trim().toLowerCase();
  const byChar = characterClass(name);
  if (byChar !== undefined) return byChar;
  if (/^numpad_\d$/.test(name)) return 'digit';
  const named = NAMED.get(name) ?? NAMED.get(name.replace(/_(l|r|left|right)$/, ''));
  return named ?? 'other';
}

/**
 * Parses `keypad.csv` or `fixed_text.csv`. Skipped and counted: rows with missing fields,
 * times that are not plain numbers, or released before pressed. Times are ms from the
 * session's first press (the files are already relative to it).
 * @throws {TypeError} when a required column is missing from the header.
 */
export function parsePohmm(text: string): PohmmData {
  const lines = splitLines(text);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const col = Object.fromEntries(POHMM_COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<
    (typeof POHMM_COLUMNS)[number],
    number
  >;
  if (Object.values(col).some((j) => j < 0)) {
    throw new TypeError('not a pohmm keystroke file: missing column');
  }
  const stats = emptyStats();
  const users = new Map<string, Map<string, TimedPress[]>>();
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '') continue;
    stats.rows++;
    const f = line.split(',');
    const user = f[col.user]?.trim() ?? '';
    const session = f[col.session]?.trim() ?? '';
    const keyname = f[col.keyname]?.trim() ?? '';
    const press = parseDecimal(f[col.timepress]);
    const release = parseDecimal(f[col.timerelease]);
    if (
      f.length !== header.length ||
      user === '' ||
      session === '' ||
      keyname === '' ||
      press === undefined ||
      release === undefined
    ) {
      stats.malformed++;
      continue;
    }
    if (release < press) {
      stats.releaseBeforePress++;
      continue;
    }
    let sessions = users.get(user);
    if (sessions === undefined) users.set(user, (sessions = new Map()));
    let presses = sessions.get(session);
    if (presses === undefined) sessions.set(session, (presses = []));
    presses.push({ press, release, c: pohmmKeyClass(keyname) });
  }
  return {
    users: [...users].map(([userId, sessions]) => ({
      userId,
      sequences: [...sessions.values()].map(keyEvents),
      sequenceIds: [...sessions.keys()],
    })),
    stats,
  };
}
