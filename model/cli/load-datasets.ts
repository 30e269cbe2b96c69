/**
 * File and directory access for the public datasets (Node only). Every function takes the
 * dataset's directory, so another copy of the same data (e.g. the held-out benchmark users) is
 * read the same way; the parsing itself is the pure adapters of `model/datasets/`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RawEvent } from '../events/schema';
import { type AaltoUser, parseAalto } from '../datasets/aalto';
import { type ParseStats, addStats, emptyStats } from '../datasets/common';
import { type PohmmData, parsePohmm } from '../datasets/pohmm';
import { parseSapiMouse } from '../datasets/sapimouse';

/** Options of {@link loadAalto}. */
export interface AaltoLoadOptions {
  /** Skip this many participants (in increasing id order) first. Default 0. */
  offset?: number;
  /** Load at most this many participants. Default: all. */
  limit?: number;
}

/** Participant files `<id>_keystrokes.txt`, by increasing numeric id. */
export function aaltoFiles(dir: string): { id: string; path: string }[] {
  return readdirSync(dir)
    .map((name) => /^(\d+)_keystrokes\.txt$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ id: m[1]!, path: join(dir, m[0]) }))
    .sort((a, b) => Number(a.id) - Number(b.id));
}

/**
 * Loads Aalto participants from `dir` (one `<id>_keystrokes.txt` TSV each), in increasing id
 * order. Invalid UTF-8 (a few files) decodes to U+FFFD, which only touches the LETTER column.
 * @throws {Error} when `dir` has no participant file, or a file is not an Aalto file.
 */
export function loadAalto(dir: string, options: AaltoLoadOptions = {}): AaltoUser[] {
  const files = aaltoFiles(dir);
  if (files.length === 0) throw new Error(`no <id>_keystrokes.txt files in ${dir}`);
  const start = options.offset ?? 0;
  const end = options.limit === undefined ? files.length : start + options.limit;
  return files.slice(start, end).map((f) => parseAalto(readFileSync(f.path, 'utf8'), f.id));
}

/** One SapiMouse user folder. */
export interface SapiMouseUser {
  /** Folder name without `user`: `'12'`, or `'35.1'` / `'35.2'` for the duplicated folders. */
  userId: string;
  /**
   * The numeric user the folder belongs to (`'35'` for `user35.1`). Folders of the same subject
   * may be the same person: never use one as the other's impostor.
   */
  subject: string;
  /** The 3-minute session (the enrolment session of the published protocol). */
  session3min: RawEvent[];
  /** The 1-minute session (the test session). */
  session1min: RawEvent[];
  /** Rows read and skipped over both files. */
  stats: ParseStats;
}

/**
 * Loads every `user*` folder of a SapiMouse directory, by increasing user number. Each holds
 * one file ending in `3min.csv` and one ending in `1min.csv` (`session_3min.csv`, or dated names
 * such as `session_2020_10_14_3min.csv` in `user62.2`).
 * @throws {Error} when there is no user folder, or a folder lacks one of its two sessions.
 */
export function loadSapiMouse(dir: string): SapiMouseUser[] {
  const folders = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^user\d+(\.\d+)?$/.test(d.name))
    .map((d) => d.name)
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  if (folders.length === 0) throw new Error(`no user* folders in ${dir}`);
  return folders.map((folder) => {
    const names = readdirSync(join(dir, folder));
    const read = (suffix: string): ReturnType<typeof parseSapiMouse> => {
      const matches = names.filter((n) => n.endsWith(suffix));
      if (matches.length !== 1) {
        throw new Error(`${folder}: expected one *${suffix} file, found ${matches.length}`);
      }
      return parseSapiMouse(readFileSync(join(dir, folder, matches[0]!), 'utf8'));
    };
    const long = read('3min.csv');
    const short = read('1min.csv');
    const userId = folder.slice(4);
    return {
      userId,
      subject: userId.split('.')[0]!,
      session3min: long.events,
      session1min: short.events,
      stats: addStats(addStats(emptyStats(), long.stats), short.stats),
    };
  });
}

/** Both pohmm keystroke files. */
export interface PohmmDatasets {
  /** `keypad.csv`: 30 users × 20 entries of the same PIN + Enter (11 keys). */
  keypad: PohmmData;
  /** `fixed_text.csv`: 60 users × 4 samples of the same ~100-key text. */
  fixedText: PohmmData;
}

/** Loads `keypad.csv` and `fixed_text.csv` from a pohmm directory. */
export function loadPohmm(dir: string): PohmmDatasets {
  return {
    keypad: parsePohmm(readFileSync(join(dir, 'keypad.csv'), 'utf8')),
    fixedText: parsePohmm(readFileSync(join(dir, 'fixed_text.csv'), 'utf8')),
  };
}
