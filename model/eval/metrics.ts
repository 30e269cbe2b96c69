/**
 * Verification metrics from score lists (pure). Scores are "higher = more like the claimed
 * user"; a query is accepted when its score is ≥ the threshold. FAR = accepted impostors /
 * impostors, FRR = rejected genuine queries / genuine queries, TPR = 1 − FRR.
 */

/** One operating point of a ROC curve. */
export interface RocPoint {
  /** Accept when score ≥ threshold (`Infinity` for the first point: nothing accepted). */
  threshold: number;
  /** False accept rate in [0, 1]. */
  far: number;
  /** False reject rate in [0, 1]. */
  frr: number;
}

function sortedDescending(scores: ArrayLike<number>): Float64Array {
  const a = Float64Array.from(scores as ArrayLike<number>, (x) =>
    Number.isNaN(x) ? -Infinity : x,
  );
  a.sort();
  return a.reverse();
}

function assertScores(genuine: ArrayLike<number>, impostor: ArrayLike<number>): void {
  if (genuine.length === 0 || impostor.length === 0) {
    throw new RangeError(
      `need genuine and impostor scores, got ${genuine.length} genuine and ${impostor.length} impostor`,
    );
  }
}

/**
 * The full ROC: one point per distinct score (accept ≥ it), from (FAR 0, FRR 1) at threshold
 * `Infinity` to (FAR 1, FRR 0). Tied genuine and impostor scores move both rates in one step
 * (a diagonal segment). NaN scores count as `-Infinity` (never accepted before anything else).
 * @throws {RangeError} when either list is empty.
 */
export function rocCurve(genuine: ArrayLike<number>, impostor: ArrayLike<number>): RocPoint[] {
  assertScores(genuine, impostor);
  const g = sortedDescending(genuine);
  const im = sortedDescending(impostor);
  const nG = g.length;
  const nI = im.length;
  const points: RocPoint[] = [{ threshold: Infinity, far: 0, frr: 1 }];
  let i = 0;
  let j = 0;
  while (i < nG || j < nI) {
    const t = Math.max(i < nG ? g[i]! : -Infinity, j < nI ? im[j]! : -Infinity);
    while (i < nG && g[i]! >= t) i++;
    while (j < nI && im[j]! >= t) j++;
    points.push({ threshold: t, far: j / nI, frr: (nG - i) / nG });
  }
  return points;
}

/**
 * Equal error rate, interpolated: the ROC (FAR, FRR) is taken as piecewise linear between its
 * points, and the EER is where FRR − FAR crosses 0 on it. Perfect separation gives 0, identical
 * score distributions with all scores equal give 0.5.
 */
export function eerFromRoc(points: readonly RocPoint[]): number {
  for (let k = 1; k < points.length; k++) {
    const a = points[k - 1]!;
    const b = points[k]!;
    const d0 = a.frr - a.far;
    const d1 = b.frr - b.far;
    if (d0 > 0 && d1 <= 0) {
      const t = d0 / (d0 - d1);
      return a.far + t * (b.far - a.far);
    }
    if (d0 === 0) return a.far;
  }
  const last = points[points.length - 1]!;
  return (last.far + last.frr) / 2;
}

/** {@link eerFromRoc} of the scores' ROC. */
export function eer(genuine: ArrayLike<number>, impostor: ArrayLike<number>): number {
  return eerFromRoc(rocCurve(genuine, impostor));
}

/**
 * Area under the ROC by the Mann–Whitney statistic: P(genuine > impostor) + ½ P(genuine =
 * impostor), over all genuine × impostor pairs (NaN counts as `-Infinity`).
 * @throws {RangeError} when either list is empty.
 */
export function auc(genuine: ArrayLike<number>, impostor: ArrayLike<number>): number {
  assertScores(genuine, impostor);
  const g = sortedDescending(genuine).reverse(); // ascending
  const im = sortedDescending(impostor).reverse();
  // For each genuine score: impostors strictly below it, and impostors equal to it.
  let wins = 0;
  let j = 0; // impostors < current genuine score
  for (let i = 0; i < g.length; i++) {
    const s = g[i]!;
    while (j < im.length && im[j]! < s) j++;
    let k = j;
    while (k < im.length && im[k]! === s) k++;
    wins += j + (k - j) / 2;
  }
  return wins / (g.length * im.length);
}

/**
 * Lowest FRR among the ROC's operating points whose FAR is at most `far` (no interpolation:
 * a threshold that could actually be set). With fewer than 1 / `far` impostor scores this is
 * the FRR at FAR 0.
 */
export function frrAtFarFromRoc(points: readonly RocPoint[], far: number): number {
  let best = 1;
  for (const p of points) if (p.far <= far + 1e-12 && p.frr < best) best = p.frr;
  return best;
}

/** At most `maxPoints` ROC points (first and last kept) for plots and reports. */
export function thinRoc(points: readonly RocPoint[], maxPoints = 200): RocPoint[] {
  if (points.length <= maxPoints) return points.slice();
  const out: RocPoint[] = [points[0]!];
  // The curve's L1 length is at most 2, so this step leaves ≤ maxPoints − 2 interior points.
  const step = 2 / Math.max(maxPoints - 2, 1);
  let last = points[0]!;
  for (let k = 1; k < points.length - 1; k++) {
    const p = points[k]!;
    if (Math.abs(p.far - last.far) + Math.abs(p.frr - last.frr) >= step) {
      out.push(p);
      last = p;
    }
  }
  out.push(points[points.length - 1]!);
  return out;
}

/** Everything {@link verificationMetrics} measures. */
export interface VerificationMetrics {
  /** Genuine scores. */
  genuine: number;
  /** Impostor scores. */
  impostor: number;
  /** Interpolated equal error rate. */
  eer: number;
  /** Mann–Whitney AUC (ties ½). */
  auc: number;
  /** Lowest FRR at FAR ≤ 1 %. */
  frrAtFar1: number;
  /** Lowest FRR at FAR ≤ 0.1 % (needs ≥ 1000 impostor scores to mean more than FAR 0). */
  frrAtFar01: number;
  /** The ROC, thinned to ≤ 200 points. */
  roc: RocPoint[];
}

/**
 * EER, AUC, FRR at FAR 1 % and 0.1 %, and a thinned ROC of one genuine/impostor score set.
 * @throws {RangeError} when either list is empty.
 */
export function verificationMetrics(
  genuine: ArrayLike<number>,
  impostor: ArrayLike<number>,
): VerificationMetrics {
  const roc = rocCurve(genuine, impostor);
  return {
    genuine: genuine.length,
    impostor: impostor.length,
    eer: eerFromRoc(roc),
    auc: auc(genuine, impostor),
    frrAtFar1: frrAtFarFromRoc(roc, 0.01),
    frrAtFar01: frrAtFarFromRoc(roc, 0.001),
    roc: thinRoc(roc),
  };
}

/**
 * The `q`-quantile (q in [0, 1]) with linear interpolation between order statistics (numpy's
 * default: position q·(n − 1)). NaN for an empty list.
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) return NaN;
  const a = Float64Array.from(values as ArrayLike<number>);
  a.sort();
  const pos = Math.min(Math.max(q, 0), 1) * (a.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return a[lo]! + (pos - lo) * (a[hi]! - a[lo]!);
}

/** Mean, median and 90th percentile of a distribution (e.g. per-user EERs). */
export interface Distribution {
  /** Values summarized. */
  n: number;
  mean: number;
  median: number;
  /** 90th percentile ({@link quantile} 0.9): the bad tail. */
  p90: number;
}

/** {@link Distribution} of `values`; NaN fields for an empty list. */
export function distribution(values: ArrayLike<number>): Distribution {
  let sum = 0;
  for (let k = 0; k < values.length; k++) sum += values[k]!;
  return {
    n: values.length,
    mean: values.length === 0 ? NaN : sum / values.length,
    median: quantile(values, 0.5),
    p90: quantile(values, 0.9),
  };
}
