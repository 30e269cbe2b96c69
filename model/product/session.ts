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

/** A full growth batch of one modality: `PRODUCT.growth.refitEvery` windows of one epoch. */
export interface GrowthBatch<W> {
  readonly modality: Modality;
  readonly items: readonly ScoredWindow<W>[];
  /** The epoch's lowest confidence up to the batch's last window. */
  readonly minConfidence: number;
  /** The windows were typed after a strong-factor confirmation of this session. */
  readonly confirmed: boolean;
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
 * session; {@link ProductSession.confirm} when the bank confirms it with a strong factor.
 */
export class ProductSession<W> {
  private state: DecisionState | undefined;
  private dippedNow = false;
  private minConfidence = 1;
  private confirmed = false;
  private readonly pending = new Map<Modality, ScoredWindow<W>[]>();

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
      this.pending.clear();
      return null;
    }
    this.minConfidence = Math.min(this.minConfidence, confidence);
    let pending = this.pending.get(modality);
    if (pending === undefined) {
      pending = [];
      this.pending.set(modality, pending);
    }
    pending.push({ window, llr });
    if (pending.length < PRODUCT.growth.refitEvery) return null;
    this.pending.delete(modality);
    return {
      modality,
      items: pending,
      minConfidence: this.minConfidence,
      confirmed: this.confirmed,
    };
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
    this.pending.clear();
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
