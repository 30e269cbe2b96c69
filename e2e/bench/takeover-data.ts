/**
 * The takeover bench's data: which Aalto typists are paired (seeded, never hand-picked), how
 * their recordings are split (enrolment, warm-up, held-out genuine text), and the recorded
 * timings turned into a replay schedule of real key presses and pointer moves. Pure apart from
 * reading the dataset files.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyClass, RawEvent } from '../../model/events/schema';
import { parseAalto } from '../../model/datasets/aalto';
import { parseSapiMouse } from '../../model/datasets/sapimouse';
import { aaltoFiles } from '../../model/cli/load-datasets';
import { PRODUCT } from '../../model/product/scorer';
import { rng } from '../support/extension';

/** Where the shared datasets live (docs/benchmarks.md; `TACIT_DATASETS` overrides). */
export const DATASETS_DIR =
  process.env.TACIT_DATASETS ?? join(import.meta.dirname, '../../../shared/datasets');

/**
 * A recorded gap longer than this (ms) is replayed as this long: a typist's pause to think or
 * read would only stall the bench, and the windower already cuts windows at 5 s pauses.
 */
export const MAX_GAP_MS = 2000;

/** Pause between two replayed sentences (each recorded sentence starts at t = 0), ms. */
export const SENTENCE_PAUSE_MS = 800;

/**
 * Key presses the product's keystroke enrolment takes at the least: its enrolment windows of its
 * window size (`PRODUCT.minEnrollWindows.keystroke` × `PRODUCT.windows.keysPerWindow`, 20 × 20).
 */
export const ENROL_PRESSES = PRODUCT.minEnrollWindows.keystroke * PRODUCT.windows.keysPerWindow;

/**
 * A typist is eligible when their file has at least {@link MIN_SENTENCES} sentences (so that a
 * warm-up sentence and the held-out genuine run are set apart, {@link splitGenuine}) and the
 * sentences left for enrolment hold at least {@link MIN_ENROL_PRESSES} key presses: the
 * product's {@link ENROL_PRESSES} and two windows more, for presses no stored window holds (with
 * 10-window enrolments the bench's 20 pairs trained after 204–260 keys, checked after each
 * sentence). A rule on the recordings alone, applied to every user in the seeded order before
 * pairing, never on any outcome. (Every aalto-dev file has 15 sentences, 9 of them for
 * enrolment; 608 of the 1,329 typists hold ≥ 440 presses in those 9.)
 */
export const MIN_SENTENCES = 12;
export const MIN_ENROL_PRESSES = ENROL_PRESSES + 2 * PRODUCT.windows.keysPerWindow;

/** One Aalto typist: id and one raw-event stream (`kd`/`ku` only) per sentence. */
export interface Typist {
  userId: string;
  sentences: RawEvent[][];
}

/**
 * Sentences of each typist's recording the runs take: the last {@link HELD_OUT} are the
 * genuine-only run's text (the impostor's run takes the impostor's first {@link HELD_OUT}); the
 * one before them is the warm-up both sessions start with; enrolment types the ones before that,
 * from the first, until the model is trained.
 */
export const HELD_OUT = 5;

/** The split of a genuine typist's sentences. */
export function splitGenuine(t: Typist): {
  enrol: RawEvent[][];
  warmUp: RawEvent[][];
  heldOut: RawEvent[][];
} {
  const n = t.sentences.length;
  return {
    enrol: t.sentences.slice(0, n - HELD_OUT - 1),
    warmUp: t.sentences.slice(n - HELD_OUT - 1, n - HELD_OUT),
    heldOut: t.sentences.slice(n - HELD_OUT),
  };
}

/** A genuine user and the impostor who takes over their session. */
export interface TypistPair {
  genuine: Typist;
  impostor: Typist;
}

/** Fisher–Yates with the seeded PRNG the e2e suite uses. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const random = rng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const presses = (sentence: readonly RawEvent[]): number =>
  sentence.filter((e) => e.k === 'kd').length;

/** Key presses in the sentences {@link splitGenuine} leaves for enrolment. */
export const enrolPresses = (t: Typist): number =>
  splitGenuine(t).enrol.reduce((n, s) => n + presses(s), 0);

/**
 * `count` disjoint pairs of eligible Aalto typists, in the order of a seeded shuffle of every
 * participant file: pair i is (eligible 2i, eligible 2i+1). Only the files needed are parsed.
 * @throws {Error} when the directory has too few eligible typists.
 */
export function pickPairs(aaltoDir: string, count: number, seed: number): TypistPair[] {
  const typists: Typist[] = [];
  for (const file of shuffled(aaltoFiles(aaltoDir), seed)) {
    if (typists.length === 2 * count) break;
    const user = parseAalto(readFileSync(file.path, 'utf8'), file.id);
    const typist: Typist = {
      userId: user.userId,
      sentences: user.sequences.filter((s) => presses(s) > 0),
    };
    if (typist.sentences.length >= MIN_SENTENCES && enrolPresses(typist) >= MIN_ENROL_PRESSES) {
      typists.push(typist);
    }
  }
  if (typists.length < 2 * count) {
    throw new Error(`only ${typists.length} eligible Aalto typists in ${aaltoDir}`);
  }
  return Array.from({ length: count }, (_, i) => ({
    genuine: typists[2 * i]!,
    impostor: typists[2 * i + 1]!,
  }));
}

/** Pointer recordings of one SapiMouse folder: `pm` moves only (no clicks: they would act). */
export interface Mouser {
  userId: string;
  moves: RawEvent[];
}

/**
 * `count` pairs of distinct SapiMouse subjects (seeded shuffle of the `user*` folders; the
 * duplicated `35.x` / `62.x` folders count as one subject), both sessions' moves joined.
 */
export function pickMousers(sapiDir: string, count: number, seed: number): [Mouser, Mouser][] {
  const folders = shuffled(
    [...Array(72).keys()].map((i) => `user${i + 1}`),
    seed,
  );
  const mousers: Mouser[] = [];
  for (const folder of folders) {
    if (mousers.length === 2 * count) break;
    let dir = join(sapiDir, folder);
    let names: string[];
    try {
      names = readDirNames(dir);
    } catch {
      dir = join(sapiDir, `${folder}.1`); // the duplicated folders: take the first copy
      names = readDirNames(dir);
    }
    const moves = ['3min.csv', '1min.csv'].flatMap((suffix) => {
      const name = names.find((n) => n.endsWith(suffix));
      if (name === undefined) return [];
      return parseSapiMouse(readFileSync(join(dir, name), 'utf8')).events.filter(
        (e) => e.k === 'pm',
      );
    });
    if (moves.length > 0) mousers.push({ userId: folder.slice(4), moves });
  }
  return Array.from({ length: count }, (_, i) => [mousers[2 * i]!, mousers[2 * i + 1]!]);
}

function readDirNames(dir: string): string[] {
  return readdirSync(dir);
}

/** One input action of a replay: a key down/up, or a pointer move. */
export type ReplayStep =
  | { at: number; kind: 'down' | 'up'; key: string; press: number }
  | { at: number; kind: 'move'; x: number; y: number };

/**
 * Key names for each class, cycled so that two overlapping presses (rollover) are different
 * keys. The model sees only the class and the timings (src/content/key-class.ts), so any key of
 * the class will do. Tab is a `nav` key but would move the focus: arrows stand for the class.
 * The numpad keys stand for digits so a held Shift cannot turn them into punctuation.
 */
const KEYS: Record<KeyClass, readonly string[]> = {
  letter: [...'etaoinshrdlucmfwypvbgkjqxz'],
  digit: ['Numpad1', 'Numpad2', 'Numpad3', 'Numpad4', 'Numpad5', 'Numpad6', 'Numpad7'],
  space: ['Space'],
  punct: [',', '.', ';', '-', '=', '/', "'"],
  enter: ['Enter', 'NumpadEnter'],
  backspace: ['Backspace', 'Delete'],
  modifier: ['ShiftLeft', 'ShiftRight'],
  nav: ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown'],
  other: ['Insert'],
};

/**
 * The replay of recorded sentences: every press keeps its recorded hold and press-to-press
 * interval; gaps longer than {@link MAX_GAP_MS} are shortened to it; sentences follow each other
 * after {@link SENTENCE_PAUSE_MS}. `at` is ms from the replay's start.
 * @param pointer optional recorded moves played between sentences, `msPerSentence` each, from
 *   `cursor.next` on; `cursor.next` is advanced past what was played, so that the next schedule
 *   of the same person goes on with moves not played yet (replaying one chunk over and over
 *   would enrol the pointer model on copies of the same window).
 */
export function keySchedule(
  sentences: readonly (readonly RawEvent[])[],
  pointer?: { moves: readonly RawEvent[]; msPerSentence: number; cursor: MoveCursor },
): ReplayStep[] {
  const steps: ReplayStep[] = [];
  const counters = new Map<KeyClass, number>();
  let offset = 0;
  let press = 0;
  let moveAt = pointer?.cursor.next ?? 0;
  for (const sentence of sentences) {
    const keyOf = new Map<number, { key: string; press: number }>();
    let last: number | undefined;
    let shift = 0; // total shortening of this sentence's gaps so far
    let end = offset;
    for (const e of sentence) {
      if (e.k !== 'kd' && e.k !== 'ku') continue;
      if (last !== undefined && e.t - last > MAX_GAP_MS) shift += e.t - last - MAX_GAP_MS;
      last = e.t;
      const at = offset + e.t - shift;
      end = Math.max(end, at);
      const id = e.i ?? 0;
      if (e.k === 'kd') {
        const c = (e.c ?? 'other') as KeyClass;
        const n = counters.get(c) ?? 0;
        counters.set(c, n + 1);
        const names = KEYS[c];
        const down = { key: names[n % names.length]!, press: ++press };
        keyOf.set(id, down);
        steps.push({ at, kind: 'down', ...down });
      } else {
        const down = keyOf.get(id);
        if (down === undefined) continue; // released without a recorded press
        keyOf.delete(id);
        steps.push({ at, kind: 'up', ...down });
      }
    }
    offset = end + SENTENCE_PAUSE_MS;
    if (pointer !== undefined && pointer.moves.length > 1) {
      const played = pointerChunk(pointer.moves, moveAt, pointer.msPerSentence);
      for (const m of played.steps) steps.push({ ...m, at: offset + m.at });
      moveAt = played.next;
      offset += pointer.msPerSentence + SENTENCE_PAUSE_MS;
    }
  }
  if (pointer !== undefined) pointer.cursor.next = moveAt;
  return steps.sort((a, b) => a.at - b.at);
}

/** Where a person's recorded moves go on: the index of the next move to play. */
export interface MoveCursor {
  next: number;
}

/** Viewport the moves are scaled into (SapiMouse screens were up to 1920 × 1080). */
const VIEW = { width: 1200, height: 650, scale: 0.6 };

/**
 * `ms` of recorded moves starting at index `from` (wrapping around), as moves at ms from the
 * chunk's start, with the same gap cap as keys; `next` is where the next chunk starts.
 */
export function pointerChunk(
  moves: readonly RawEvent[],
  from: number,
  ms: number,
): { steps: { at: number; kind: 'move'; x: number; y: number }[]; next: number } {
  const steps: { at: number; kind: 'move'; x: number; y: number }[] = [];
  let i = from % moves.length;
  let at = 0;
  let prev = moves[i]!.t;
  while (at <= ms && steps.length < moves.length) {
    const m = moves[i]!;
    const dt = m.t - prev;
    at += dt < 0 || dt > MAX_GAP_MS ? (dt < 0 ? 0 : MAX_GAP_MS) : dt;
    prev = m.t;
    if (at > ms) break;
    const x = Math.min(VIEW.width, Math.max(0, (m.x ?? 0) * VIEW.scale));
    const y = Math.min(VIEW.height, Math.max(0, (m.y ?? 0) * VIEW.scale));
    steps.push({ at, kind: 'move', x, y });
    i = (i + 1) % moves.length;
    if (i === 0) prev = moves[0]!.t; // wrapped: time restarts
  }
  return { steps, next: i };
}

/** Key presses of a schedule. */
export const pressCount = (steps: readonly ReplayStep[]): number =>
  steps.filter((s) => s.kind === 'down').length;
