/**
 * The pohmm dataset's users as step sequences (Node): the permissively licensed public users
 * that trained the shipped keystroke encoder (`npm run train -- keystroke-pohmm`) and whose
 * centres the federated publisher ships with every model version (docs/federated.md
 * "Positive-only remedy"). One loader for training, the simulation, the experiment and the
 * aggregator, so the public centres are computed over exactly the users and sequences the
 * encoder was trained on. It reaches the dataset parsers and the feature code only: the
 * aggregator imports it without TensorFlow.js.
 *
 * @module
 */
import { keySequence } from '../features/sequence';
import type { StepSequence, TrainingUser } from '../shared/train';
import { loadPohmm } from './load-datasets';
import { userFingerprint } from './training-identity';

/** The public users of a pohmm directory. */
export interface PohmmUsers {
  /** Keypad users first (`keypad:<id>`), then fixed-text users (`fixed:<id>`). */
  users: TrainingUser[];
  /** Each user's data fingerprint (training-identity.ts), same order. */
  fingerprints: string[];
}

/**
 * Loads the users of a pohmm directory (`keypad.csv`, `fixed_text.csv`): the `slice` of each
 * subset (`offset` first, then at most `users`; default all). Fixed-text samples (~100 keys)
 * are cut into 50-key pieces ({@link splitSequence}) so training crops stay within their
 * maximum length.
 *
 * @throws the file system's error when a file is missing or unreadable.
 */
export function loadPohmmUsers(
  dir: string,
  slice: { offset?: number; users?: number } = {},
): PohmmUsers {
  const from = slice.offset ?? 0;
  const cut = <T>(list: readonly T[]): T[] =>
    list.slice(from, slice.users === undefined ? undefined : from + slice.users);
  const { keypad, fixedText } = loadPohmm(dir);
  const keypadUsers = cut(keypad.users);
  const fixedUsers = cut(fixedText.users);
  return {
    users: [
      ...keypadUsers.map((u) => ({
        userId: `keypad:${u.userId}`,
        sequences: u.sequences.map(keySequence),
      })),
      ...fixedUsers.map((u) => ({
        userId: `fixed:${u.userId}`,
        sequences: u.sequences.flatMap((s) => splitSequence(keySequence(s), 50, 14)),
      })),
    ],
    fingerprints: [...keypadUsers, ...fixedUsers].map((u) => userFingerprint(u.sequences[0] ?? [])),
  };
}

/** Cuts a sequence into pieces of at most `length` rows (the last one kept if ≥ `min`). */
export function splitSequence(seq: StepSequence, length: number, width: number): StepSequence[] {
  const out: StepSequence[] = [];
  for (let start = 0; start < seq.n; start += length) {
    const n = Math.min(length, seq.n - start);
    if (n < 2 || (start > 0 && n < 10)) break;
    const steps = seq.steps.slice(start * width, (start + n) * width);
    if (start > 0) {
      // The first press of a piece has no flight into it within the piece.
      steps.fill(0, 1, 4);
      steps[4] = 1;
    }
    out.push({ steps, n });
  }
  return out;
}
