/**
 * Golden feature vectors: fixed raw-event inputs with hand-computed expected vectors
 * (`golden-v2.json`, one file per feature schema version). Node tests and the real browser worker run the same check, so a
 * difference between engines, bundlers or a stray edit of the feature code shows up as a
 * failed check instead of silent training/serving skew.
 */
import type { RawEvent } from '../events/schema';
import { FEATURE_SCHEMA_VERSION, featureDimension, isModality } from './schema';
import { type FeatureWindow, type WindowerConfig, createWindower } from './windower';

/** Format tag of a golden file. */
export const GOLDEN_FORMAT = 'tacit-feature-golden' as const;

/** One expected window. */
export interface GoldenWindow {
  modality: string;
  count: number;
  start: number;
  end: number;
  /** Expected {@link FeatureWindow.textInputs}; not compared when absent. */
  textInputs?: number;
  vector: number[];
  /**
   * Expected block features of a pointer window (model/pointer/block-features.ts); compared
   * when present. Written by Node (not by hand, unlike `vector`): they prove the browser
   * computes what Node computes.
   */
  block?: number[];
}

/** One golden case: a windower config, event batches fed in order, the windows they must give. */
export interface GoldenCase {
  name: string;
  config?: Partial<WindowerConfig>;
  /** Raw events; a `null` number (JSON has no NaN) stands for NaN. */
  batches: unknown[][];
  expected: GoldenWindow[];
}

/** A golden file. */
export interface GoldenFile {
  format: typeof GOLDEN_FORMAT;
  featureSchema: number;
  /** Largest allowed absolute difference of any vector element, start or end. */
  tolerance: number;
  cases: GoldenCase[];
}

/** Result of {@link checkGolden}. */
export interface GoldenCheck {
  /** True when every case produced exactly its expected windows within the tolerance. */
  ok: boolean;
  /** Largest absolute difference seen (Infinity when a window is missing or of another shape). */
  maxAbsDiff: number;
  /** Windows compared. */
  windows: number;
  /** What failed, as fixed descriptions (case names and field names, no values). */
  failures: string[];
}

/**
 * Runs every case of a golden file through {@link createWindower} and compares the output.
 * Never throws: a malformed file, a file of another feature schema version or any mismatch gives
 * `ok: false` with a reason in `failures`. Pass the parsed JSON (an object).
 */
export function checkGolden(golden: unknown): GoldenCheck {
  const result: GoldenCheck = { ok: true, maxAbsDiff: 0, windows: 0, failures: [] };
  const fail = (why: string): void => {
    result.ok = false;
    result.failures.push(why);
  };
  if (!isRecord(golden) || golden.format !== GOLDEN_FORMAT || !Array.isArray(golden.cases)) {
    fail('not a tacit-feature-golden file');
    result.maxAbsDiff = Infinity;
    return result;
  }
  if (golden.featureSchema !== FEATURE_SCHEMA_VERSION) {
    fail(
      `golden file is for feature schema ${String(golden.featureSchema)}, this build is ${FEATURE_SCHEMA_VERSION}`,
    );
    result.maxAbsDiff = Infinity;
    return result;
  }
  const tolerance = typeof golden.tolerance === 'number' ? golden.tolerance : 1e-4;

  for (const c of golden.cases as unknown[]) {
    if (!isRecord(c) || !Array.isArray(c.batches) || !Array.isArray(c.expected)) {
      fail('malformed case');
      result.maxAbsDiff = Infinity;
      continue;
    }
    const name = typeof c.name === 'string' ? c.name : '(unnamed)';
    let actual: FeatureWindow[];
    try {
      const windower = createWindower(
        isRecord(c.config) ? (c.config as Partial<WindowerConfig>) : {},
      );
      actual = (c.batches as unknown[]).flatMap((b) =>
        windower.push(Array.isArray(b) ? b.map(restoreNaN) : []),
      );
    } catch {
      fail(`${name}: windower threw`);
      result.maxAbsDiff = Infinity;
      continue;
    }
    const expected = c.expected as unknown[];
    if (actual.length !== expected.length) {
      fail(`${name}: ${actual.length} windows, expected ${expected.length}`);
      result.maxAbsDiff = Infinity;
    }
    for (let w = 0; w < Math.min(actual.length, expected.length); w++) {
      const a = actual[w]!;
      const e = expected[w];
      result.windows++;
      if (
        !isRecord(e) ||
        !isModality(e.modality) ||
        e.modality !== a.modality ||
        e.count !== a.count ||
        (e.textInputs !== undefined && e.textInputs !== a.textInputs) ||
        !Array.isArray(e.vector) ||
        e.vector.length !== featureDimension(a.modality) ||
        a.vector.length !== e.vector.length
      ) {
        fail(`${name}: window ${w} has another modality, count, text-input count or length`);
        result.maxAbsDiff = Infinity;
        continue;
      }
      const diffs = [diff(a.start, e.start), diff(a.end, e.end)];
      for (let j = 0; j < a.vector.length; j++) diffs.push(diff(a.vector[j]!, e.vector[j]));
      if (Array.isArray(e.block)) {
        const block = a.block;
        if (block === undefined || block.length !== e.block.length) diffs.push(Infinity);
        else for (let j = 0; j < block.length; j++) diffs.push(relDiff(block[j]!, e.block[j]));
      }
      const worst = Math.max(...diffs);
      result.maxAbsDiff = Math.max(result.maxAbsDiff, worst);
      if (!(worst <= tolerance)) fail(`${name}: window ${w} differs by more than ${tolerance}`);
    }
  }
  return result;
}

/** Block features span many scales (ms², px/s³): compared relative to their magnitude. */
function relDiff(a: number, e: unknown): number {
  if (typeof e !== 'number') return Infinity;
  return diff(a, e) / Math.max(1, Math.abs(e));
}

function diff(a: number, e: unknown): number {
  if (typeof e !== 'number') return Infinity;
  const d = Math.abs(a - e);
  return Number.isNaN(d) ? Infinity : d;
}

/** JSON cannot carry NaN: golden files write `null` for a NaN number field. */
function restoreNaN(e: unknown): RawEvent {
  if (!isRecord(e)) return e as RawEvent;
  const out: Record<string, unknown> = { ...e };
  for (const key of ['t', 'i', 'x', 'y', 'dx', 'dy', 'b', 'n', 'f'])
    if (out[key] === null) out[key] = NaN;
  return out as unknown as RawEvent;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
