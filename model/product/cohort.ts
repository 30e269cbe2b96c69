/**
 * Impostor-cohort normalisation of the keystroke components (speaker verification's Z-norm and
 * S-norm). The per-user models only ever see their user, so their standardized likeness is in
 * units of the user's own enrolment spread: how far *other people* fall from this user differs a
 * lot between users, and the one global decision threshold (decision.ts) then fires early for
 * some users and late for others. A public cohort of other people's windows, shipped with the
 * extension (`model/shared/default-keystroke-cohort.json`: pohmm fixed text, BSD-3-Clause, 60
 * people, the first 5 windows each), gives each user model its impostor distribution on the
 * device, at fit or load time, without any impostor data of the user's own:
 *
 * - detector: `(s − μ) / σ`, with μ, σ the mean and spread of the detector's standardized
 *   likeness of the cohort windows (Z-norm);
 * - embedding: the mean of the Z-norm of the similarity (μ, σ of the cohort windows'
 *   similarities to the user's template) and its T-norm (μ, σ of the *window's* similarities to
 *   each cohort person's template: some windows lie close to everybody), i.e. S-norm.
 *
 * On Aalto validation users 1001–1200 this took the takeover simulation from 74 to 56 impostor
 * keys (median) at the same clean rate of genuine sessions (docs/model.md §5a). The cohort is
 * public data; nothing about the user leaves the device, and the user's data never joins a
 * cohort.
 *
 * @module
 */
import { ModelFormatError } from '../errors';
import { KEY_CLASSES, type KeyClass, type RawEvent } from '../events/schema';
import { createWindower, type WindowerConfig } from '../features/windower';
import type { EmbeddingUserModel } from '../shared/embedding-model';
import type { SharedEncoder } from '../shared/encoder';
import type { UserModel } from '../detector/user-model';

/** Format tag of a cohort file. */
export const COHORT_FORMAT = 'tacit-keystroke-cohort' as const;
/** Version of the cohort file format. */
export const COHORT_VERSION = 1 as const;

/** One recording of a cohort person: key classes and press timings. */
export interface CohortRecordingJSON {
  /** One character per press: the index of its {@link KEY_CLASSES} entry. */
  c: string;
  /** Per press, in order: key-down time and hold (ms, relative to the recording's start). */
  t: number[];
}

/** A stored cohort (`model/shared/default-keystroke-cohort.json`). */
export interface CohortFileJSON {
  format: typeof COHORT_FORMAT;
  version: typeof COHORT_VERSION;
  /** Where the recordings come from (dataset, licence, selection): provenance only. */
  provenance: Record<string, string | number>;
  /** Windows of each person the cohort uses (the first ones with a usable step sequence). */
  windowsPerPerson: number;
  /** One entry per person; `id` names the person in the dataset (`pohmm:<user>`). */
  people: { id: string; recordings: CohortRecordingJSON[] }[];
}

/** One cohort window, as the per-user models read it. */
export interface CohortWindow {
  readonly vector: Float32Array;
  readonly steps: Float32Array;
  readonly n: number;
}

/** A cohort in memory: each person's windows. */
export interface KeystrokeCohort {
  readonly people: readonly { readonly id: string; readonly windows: readonly CohortWindow[] }[];
}

/** Raw events of a stored recording (key-downs and key-ups, in time order). */
export function cohortRecordingEvents(r: CohortRecordingJSON): RawEvent[] {
  const events: RawEvent[] = [];
  for (let i = 0; i < r.c.length; i++) {
    const c: KeyClass = KEY_CLASSES[Number(r.c[i])]!;
    const down = r.t[2 * i]!;
    events.push(
      { t: down, k: 'kd', c, i: i + 1 },
      { t: down + r.t[2 * i + 1]!, k: 'ku', c, i: i + 1 },
    );
  }
  return events.sort((a, b) => a.t - b.t);
}

/**
 * The stored form of a recording's key presses (offline, `model/cli/cohort-build.ts`): presses
 * with both a key-down and a key-up, in key-down order, times relative to the first key-down.
 * Only the key class of a press is kept, as the extension records it.
 */
export function cohortRecording(events: readonly RawEvent[]): CohortRecordingJSON {
  const downs = new Map<number, RawEvent>();
  const presses: { down: number; up: number; c: KeyClass }[] = [];
  for (const e of events) {
    if (e.k === 'kd' && e.i !== undefined && !downs.has(e.i)) downs.set(e.i, e);
    if (e.k === 'ku' && e.i !== undefined) {
      const d = downs.get(e.i);
      if (d === undefined || d.c === undefined) continue;
      downs.delete(e.i);
      presses.push({ down: d.t, up: e.t, c: d.c });
    }
  }
  presses.sort((a, b) => a.down - b.down);
  const t0 = presses[0]?.down ?? 0;
  const round = (x: number): number => Math.round(x * 10) / 10;
  return {
    c: presses.map((p) => String(KEY_CLASSES.indexOf(p.c))).join(''),
    t: presses.flatMap((p) => [round(p.down - t0), round(Math.max(0, p.up - p.down))]),
  };
}

/**
 * Validates a cohort file and cuts its windows with `windows` (the product's windower settings),
 * each recording through a fresh windower, keeping each person's first `windowsPerPerson`
 * keystroke windows with a usable step sequence.
 * @throws {ModelFormatError} `ERR_MODEL_FORMAT` for anything malformed.
 */
export function parseCohort(value: unknown, windows: Partial<WindowerConfig>): KeystrokeCohort {
  const bad = (why: string): never => {
    throw new ModelFormatError(`keystroke cohort: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return bad('not an object');
  const v = value as Partial<CohortFileJSON>;
  const known = ['format', 'version', 'provenance', 'windowsPerPerson', 'people'];
  if (Object.keys(v).some((k) => !known.includes(k))) bad('unknown member');
  if (v.format !== COHORT_FORMAT || v.version !== COHORT_VERSION) bad('unknown format or version');
  const per = v.windowsPerPerson;
  if (typeof per !== 'number' || !Number.isInteger(per) || per < 1) bad('bad windowsPerPerson');
  if (!Array.isArray(v.people) || v.people.length < 2) return bad('fewer than two people');
  const people = v.people.map((p) => {
    if (typeof p?.id !== 'string' || !Array.isArray(p.recordings)) return bad('malformed person');
    const out: CohortWindow[] = [];
    for (const r of p.recordings) {
      const ok =
        typeof r?.c === 'string' &&
        /^[0-9]*$/.test(r.c) &&
        [...r.c].every((ch) => Number(ch) < KEY_CLASSES.length) &&
        Array.isArray(r.t) &&
        r.t.length === 2 * r.c.length &&
        r.t.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0);
      if (!ok) bad('malformed recording');
      for (const w of createWindower(windows).push(cohortRecordingEvents(r))) {
        if (w.modality === 'keystroke' && w.stepCount >= 2 && out.length < per!)
          out.push({ vector: w.vector, steps: w.steps, n: w.stepCount });
      }
    }
    if (out.length === 0) bad('a person without a usable window');
    return { id: p.id, windows: out };
  });
  return { people };
}

/** The cohort without some people (calibration on a cohort person leaves them out). */
export function cohortWithout(cohort: KeystrokeCohort, ids: ReadonlySet<string>): KeystrokeCohort {
  return { people: cohort.people.filter((p) => !ids.has(p.id)) };
}

/** Mean and spread (population std, floored) of some scores. */
export interface NormStats {
  readonly mean: number;
  readonly std: number;
}

/** Smallest spread used, so that a degenerate cohort cannot divide by zero. */
const MIN_SPREAD = 1e-6;

function meanStd(values: readonly number[]): NormStats {
  let m = 0;
  for (const x of values) m += x;
  m /= values.length;
  let ss = 0;
  for (const x of values) ss += (x - m) ** 2;
  return { mean: m, std: Math.max(MIN_SPREAD, Math.sqrt(ss / values.length)) };
}

const dot = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** The cohort in one encoder's scoring space: every window's embedding and each person's template. */
interface EmbeddedCohort {
  readonly windows: readonly Float32Array[];
  /** Each person's template: the mean of their window embeddings (as the user's own). */
  readonly templates: readonly Float32Array[];
}

const embeddedCohorts = new WeakMap<KeystrokeCohort, WeakMap<SharedEncoder, EmbeddedCohort>>();

/**
 * The cohort embedded by `model`'s encoder (and back-end), computed once per cohort and encoder:
 * an encoder adopted later (federated rounds) gets its own.
 */
function embeddedCohort(cohort: KeystrokeCohort, model: EmbeddingUserModel): EmbeddedCohort {
  let byEncoder = embeddedCohorts.get(cohort);
  if (byEncoder === undefined) embeddedCohorts.set(cohort, (byEncoder = new WeakMap()));
  let e = byEncoder.get(model.encoder);
  if (e === undefined) {
    const windows: Float32Array[] = [];
    const templates: Float32Array[] = [];
    for (const p of cohort.people) {
      const own = p.windows.map((w) => model.embed({ steps: w.steps, n: w.n }));
      const t = new Float32Array(own[0]!.length);
      for (const x of own) for (let i = 0; i < t.length; i++) t[i] += x[i]! / own.length;
      windows.push(...own);
      templates.push(t);
    }
    byEncoder.set(model.encoder, (e = { windows, templates }));
  }
  return e;
}

/** A user's keystroke models normalised against a cohort. */
export class CohortNorm {
  private constructor(
    private readonly detectorStats: NormStats,
    private readonly embeddingStats: NormStats | undefined,
    private readonly templates: readonly Float32Array[] | undefined,
  ) {}

  /**
   * The cohort's statistics for a user's models: the detector's standardized likeness of every
   * cohort window, and the similarity of every cohort window to the user's embedding template.
   */
  static fit(
    cohort: KeystrokeCohort,
    detector: UserModel,
    embedding: EmbeddingUserModel | undefined,
  ): CohortNorm {
    const all = cohort.people.flatMap((p) => p.windows);
    const detectorStats = meanStd(all.map((w) => detector.standardized(w.vector)));
    if (embedding === undefined) return new CohortNorm(detectorStats, undefined, undefined);
    const e = embeddedCohort(cohort, embedding);
    return new CohortNorm(
      detectorStats,
      meanStd(e.windows.map((x) => embedding.similarityOf(x))),
      e.templates,
    );
  }

  /** The detector's Z-normed score of a window (`UserModel.standardized` in, cohort units out). */
  detector(standardized: number): number {
    return (standardized - this.detectorStats.mean) / this.detectorStats.std;
  }

  /**
   * The embedding's S-normed score of a window's embedding (`EmbeddingUserModel.embed`):
   * the mean of its Z-norm and its T-norm.
   * @throws {TypeError} when the norm was fitted without an embedding model.
   */
  embedding(model: EmbeddingUserModel, embedded: Float32Array): number {
    if (this.embeddingStats === undefined || this.templates === undefined)
      throw new TypeError('cohort norm fitted without an embedding model');
    const sim = model.similarityOf(embedded);
    const z = (sim - this.embeddingStats.mean) / this.embeddingStats.std;
    const t = meanStd(this.templates.map((c) => dot(c, embedded)));
    return 0.5 * (z + (sim - t.mean) / t.std);
  }
}
