/**
 * What one page session does on the device once a modality is enrolled, window by window: the
 * session decision (`productDecide`: a CUSUM epoch), template growth's bookkeeping
 * (`PRODUCT.growth`), the strong-factor confirmation that starts a new epoch, and the verdict on
 * a full growth batch (the drift monitor, {@link admitGrowth}, the replacement of old grown
 * windows). Pure (no storage, no tensors): the worker (`src/worker/engine.ts`) and the drift and
 * poisoning simulations (`model/eval/drift-sim.ts`) both run it, so what the simulation measures
 * is what the device does; neither keeps a copy of these rules.
 *
 * **Growth.** A scored window waits in memory while the session's confidence stays at or above
 * `safeLevel`; every `refitEvery` windows of a modality make a batch for the drift rule. The
 * first value below the safe level ends growth for the session (or for the epoch, see below) and
 * drops what waited: a takeover, or a session near a step-up, never becomes training data.
 *
 * **Confirmation.** When the bank confirms the session with a strong factor (a passkey with user
 * verification), the decision starts a new epoch (S from 0, the sticky takeover cleared) and
 * growth starts afresh from the next window. Never the windows before it: a confirmation proves
 * who is present at the moment of the assertion, not who typed before (a takeover that the
 * genuine user then interrupts has an impostor's windows right before a valid confirmation).
 * Batches of a confirmed epoch say so ({@link GrowthBatch.confirmed}); the drift rule decides
 * what that is worth.
 *
 * **Batches span sessions.** The windows that wait belong to the subject ({@link GrowthPool}), not
 * to one session: a session that ends while still above the safe level leaves its waiting
 * windows for the next one, and a dip drops only the dipping epoch's own windows. Bank sessions
 * are short (a login, a transfer: often fewer than `refitEvery` windows), and when each session's
 * windows were dropped at its end a user who needed the model to follow them, or whose sessions
 * were confirmed after a step-up, never completed a batch (docs/model.md §5b).
 */
import type { Modality } from '../features/schema';
import { EMPTY_DECISION_STATE, type DecisionState } from './decision';
import { PRODUCT, productConfidence, productDecide } from './scorer';
import {
  type Admission,
  DRIFT,
  type DriftConfig,
  type DriftState,
  type GrowthCandidate,
  type TemplateAnchor,
  admitGrowth,
  updateDrift,
  windowsToReplace,
} from './drift';

/** A scored window waiting for growth. */
export interface ScoredWindow<W> {
  readonly window: W;
  /** Its LLR under the model that scored it. */
  readonly llr: number;
}

/**
 * A full growth batch of one modality: `PRODUCT.growth.refitEvery` windows, from one or more
 * epochs (sessions) that never fell below the safe level.
 */
export interface GrowthBatch<W> {
  readonly modality: Modality;
  readonly items: readonly ScoredWindow<W>[];
  /** The lowest confidence of the windows' epochs, each up to its window. */
  readonly minConfidence: number;
  /** Every window was typed after a strong-factor confirmation of its session. */
  readonly confirmed: boolean;
}

/** A window waiting in a {@link GrowthPool}: which epoch it came from, and that epoch's state. */
interface PooledWindow<W> extends ScoredWindow<W> {
  /** The epoch (a {@link ProductSession}'s current epoch token) that scored it. */
  readonly epoch: object;
  /** Its epoch's lowest confidence up to this window. */
  readonly minConfidence: number;
  /** Its epoch followed a strong-factor confirmation. */
  readonly confirmed: boolean;
}

/**
 * The windows of one subject waiting for growth, across that subject's sessions, per modality.
 * Every `PRODUCT.growth.refitEvery` of them make a batch. Keep one per subject for as long as
 * the device runs (the worker keeps it in memory: a restart drops what waited, which only
 * delays growth); a session without one gets its own, and its windows then die with it.
 */
export class GrowthPool<W> {
  private readonly waiting = new Map<Modality, PooledWindow<W>[]>();

  /** Adds a window; returns the batch it completes, or null. */
  add(modality: Modality, item: PooledWindow<W>): GrowthBatch<W> | null {
    let list = this.waiting.get(modality);
    if (list === undefined) {
      list = [];
      this.waiting.set(modality, list);
    }
    list.push(item);
    if (list.length < PRODUCT.growth.refitEvery) return null;
    this.waiting.delete(modality);
    return {
      modality,
      items: list.map(({ window, llr }) => ({ window, llr })),
      minConfidence: Math.min(...list.map((x) => x.minConfidence)),
      // Confirmed only when every window's epoch was: a confirmation says nothing of another epoch.
      confirmed: list.every((x) => x.confirmed),
    };
  }

  /** Drops every waiting window of `epoch` (it fell below the safe level, or was confirmed). */
  drop(epoch: object): void {
    for (const [modality, list] of this.waiting) {
      const kept = list.filter((x) => x.epoch !== epoch);
      if (kept.length === 0) this.waiting.delete(modality);
      else this.waiting.set(modality, kept);
    }
  }

  /** Windows waiting, per modality (tests and diagnostics). */
  size(modality: Modality): number {
    return this.waiting.get(modality)?.length ?? 0;
  }
}

/** What one scored window did to the session. */
export interface SessionStep<W> {
  readonly decision: DecisionState;
  /** The session confidence shown and attested (`productConfidence`). */
  readonly confidence: number;
  /** A growth batch that just filled up, for {@link judgeGrowthBatch}; else null. */
  readonly batch: GrowthBatch<W> | null;
}

/**
 * One page session of one subject (all modalities): its decision and its growth. Start one per
 * session, on the subject's {@link GrowthPool}; {@link ProductSession.confirm} when the bank
 * confirms it with a strong factor.
 */
export class ProductSession<W> {
  private state: DecisionState | undefined;
  private dippedNow = false;
  private minConfidence = 1;
  private confirmed = false;
  /** The current epoch's identity in the pool (a new one at each confirmation). */
  private epoch: object = {};

  constructor(private readonly pool: GrowthPool<W> = new GrowthPool<W>()) {}

  /** The decision of the current epoch; undefined until a window of it is scored. */
  get decision(): DecisionState | undefined {
    return this.state;
  }

  /** The epoch fell below the safe level: nothing more of it is learned. */
  get dipped(): boolean {
    return this.dippedNow;
  }

  /** Folds a scored window into the decision and the growth bookkeeping. */
  score(modality: Modality, window: W, llr: number): SessionStep<W> {
    const decision = productDecide(this.state ?? EMPTY_DECISION_STATE, modality, llr);
    this.state = decision;
    const confidence = productConfidence(decision);
    return { decision, confidence, batch: this.grow(modality, window, llr, confidence) };
  }

  private grow(
    modality: Modality,
    window: W,
    llr: number,
    confidence: number,
  ): GrowthBatch<W> | null {
    if (this.dippedNow) return null;
    if (!(confidence >= PRODUCT.growth.safeLevel)) {
      // Near a step-up: nothing of this epoch teaches the model, now or later.
      this.dippedNow = true;
      this.pool.drop(this.epoch);
      return null;
    }
    this.minConfidence = Math.min(this.minConfidence, confidence);
    return this.pool.add(modality, {
      window,
      llr,
      epoch: this.epoch,
      minConfidence: this.minConfidence,
      confirmed: this.confirmed,
    });
  }

  /**
   * The bank confirmed the session with a strong factor: a new decision epoch, growth afresh
   * from the next window (what waited is dropped). True when the epoch it ends had scored a
   * window (the decision was reset).
   */
  confirm(): boolean {
    const reset = this.state !== undefined;
    this.state = undefined;
    this.dippedNow = false;
    this.minConfidence = 1;
    this.confirmed = true;
    this.pool.drop(this.epoch);
    this.epoch = {};
    return reset;
  }
}

/** What the drift rule decided about a growth batch ({@link judgeGrowthBatch}). */
export interface BatchVerdict {
  /** The drift monitor after this batch (keep it for the next one). */
  readonly drift: DriftState;
  readonly admission: Admission;
  /**
   * When admitted: how many of the oldest grown windows to remove before storing the batch
   * (`windowsToReplace`, never the enrolment); 0 otherwise.
   */
  readonly replace: number;
}

/**
 * The verdict on a full growth batch: the drift monitor reads its window LLRs (the user's own
 * score distribution), {@link admitGrowth} admits it whole or refuses it, and an admitted batch
 * replaces the oldest grown windows once the template holds `PRODUCT.growth.maxEnrollWindows`.
 * `template` is every window the modality's model is fitted on now, the first `enrolment` of
 * them the enrolment (the anchor's windows).
 */
export function judgeGrowthBatch(
  drift: DriftState,
  anchor: TemplateAnchor,
  template: readonly ArrayLike<number>[],
  enrolment: number,
  batch: Pick<GrowthBatch<unknown>, 'minConfidence' | 'confirmed'> & {
    readonly candidates: readonly GrowthCandidate[];
  },
  config: Readonly<DriftConfig> = DRIFT,
): BatchVerdict {
  const next = updateDrift(
    drift,
    batch.candidates.map((c) => c.llr),
    config,
  );
  const admission = admitGrowth(
    anchor,
    template,
    batch.candidates,
    batch.minConfidence,
    { drifted: next.drifted, confirmed: batch.confirmed },
    config,
  );
  const replace = admission.admitted
    ? windowsToReplace(
        template.length,
        enrolment,
        batch.candidates.length,
        PRODUCT.growth.maxEnrollWindows,
      )
    : 0;
  return { drift: next, admission, replace };
}
