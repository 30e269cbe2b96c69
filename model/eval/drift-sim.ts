/**
 * Drift and poisoning simulations (pure; `npm run drift:sim` loads the data and writes the
 * report). Each enrolled user runs sessions through the product's own path — windower
 * (`productWindows`) → product scorer (`productLlr`) → session decision (`productDecide`,
 * `productConfidence`) → template growth → the drift rule, through the very code the worker runs
 * (`model/product/session.ts`: `ProductSession` and `judgeGrowthBatch`) → refit
 * (`fitProductModels`). Nothing here restates a rule or a constant of those modules.
 *
 * A step-up is modelled as the bank meets it: when the decision fires in a genuine session, the
 * user confirms with their passkey (the session still counts as a false flag: they met a
 * step-up), the device starts a new epoch (`ProductSession.confirm`, the worker's
 * `confirmSession`) and the rest of the session is typed and learned from as the worker does;
 * an attacker cannot confirm, so a poisoning session ends where the decision fires.
 *
 * Three adaptation policies are compared on the same sessions:
 * - `frozen`: the enrolment model is never refitted;
 * - `growth`: template growth without the drift rule (every window of a safe session is learned);
 * - `safeguarded`: the product — growth through {@link judgeGrowthBatch} (the drift rule).
 */
import type { RawEvent } from '../events/schema';
import type { Modality } from '../features/schema';
import type { FeatureWindow } from '../features/windower';
import type { SharedEncoder } from '../shared/encoder';
import type { DetectorConfig } from '../detector/config';
import { type Rng, createRng, gaussian } from '../random';
import {
  PRODUCT,
  type ProductModels,
  disposeProductModels,
  fitProductModels,
  productLlr,
} from '../product/scorer';
import {
  type AdmissionReason,
  DRIFT,
  type DriftConfig,
  type DriftState,
  EMPTY_DRIFT_STATE,
  type TemplateAnchor,
  templateAnchor,
  templateDistance,
} from '../product/drift';
import { median } from '../features/stats';
import { GrowthPool, ProductSession, judgeGrowthBatch } from '../product/session';
import { productWindows, scorableWindow } from '../product/learn-calibration';

/** How a simulated user's model adapts. */
export type AdaptPolicy = 'frozen' | 'growth' | 'safeguarded';
/** Every policy, in report order. */
export const ADAPT_POLICIES: readonly AdaptPolicy[] = ['frozen', 'growth', 'safeguarded'];

/**
 * The same recording typed at another pace: every gap between successive events is multiplied
 * by `factor` (so holds and flights both scale) and by an independent log-normal jitter of
 * σ = `jitter`, so a recording replayed in several sessions never gives identical windows.
 * Event order is kept.
 */
export function shiftTimings(
  events: readonly RawEvent[],
  factor: number,
  jitter: number,
  rng: Rng,
): RawEvent[] {
  if (!(factor > 0)) throw new RangeError(`factor must be > 0, got ${factor}`);
  const out: RawEvent[] = [];
  let prev: number | undefined;
  let t = 0;
  for (const e of events) {
    if (prev === undefined) t = e.t;
    else t += Math.max(0, e.t - prev) * factor * Math.exp(jitter * gaussian(rng));
    prev = e.t;
    out.push({ ...e, t });
  }
  return out;
}

/**
 * What happens when the decision fires in a simulated session (the bank steps up):
 * - `confirm`: the genuine user confirms with their passkey; the device starts a new epoch
 *   (`ProductSession.confirm`, as the worker's `confirmSession`) and the rest of the session is
 *   typed, its windows after the confirmation scored and learned as the worker learns them;
 * - `cut`: no strong factor (an attacker): the session ends there (the bank terminates it);
 * - `none`: no step-up is modelled: the session goes on under the fired decision (the
 *   simulation before confirmations were modelled; an ablation).
 */
export type OnStepUp = 'confirm' | 'cut' | 'none';

/** How a simulated session meets a step-up. */
export interface StepUpModel {
  onStepUp: OnStepUp;
  /**
   * With `confirm`: windows lost between the decision firing and the confirmation (typed while
   * the step-up reaches the user, or the window in progress that the confirmation drops: the
   * worker's windower restarts); neither scored for the new epoch nor learned. Default 1.
   */
  confirmDelayWindows?: number;
}

/** What a simulated session did. */
export interface SessionOutcome {
  /** Windows scored. */
  windows: number;
  /** The session decision fired at least once (a false flag for the genuine user). */
  flagged: boolean;
  /** Times the decision fired: each a step-up the user met (one per epoch at most). */
  stepUps: number;
  /** Strong-factor confirmations (each starts a new epoch). */
  confirmations: number;
  /** The session ended at a step-up nobody could confirm (`cut`). */
  cut: boolean;
  /** Lowest session confidence. */
  minConfidence: number;
  /** Windows this session stored in the template. */
  stored: number;
  /** Of them, windows of the attacker (poisoning simulation). */
  storedForeign: number;
  /** The drift monitor said drifted after this session (safeguarded policy). */
  drifted: boolean;
  /** Template size after the session. */
  template: number;
  /** Every growth batch the drift rule judged in this session (safeguarded policy), in order. */
  batches: BatchDetail[];
}

/** One growth batch the drift rule judged: why it was admitted or refused, with the figures. */
export interface BatchDetail {
  reason: AdmissionReason;
  /** The epoch's lowest confidence up to the batch's last window, and the floor applied. */
  minConfidence: number;
  floor: number;
  /**
   * The batch's `learnQuantile` quantile of window LLRs, its median (as the drift monitor takes
   * it), and the gate applied.
   */
  quantile: number;
  median: number;
  gate: number;
  step: number;
  distance: number;
  /** The monitor after this batch: drifted, and its CUSUM statistic. */
  drifted: boolean;
  d: number;
  confirmed: boolean;
}

/** A window of a session, with whose it is (the simulation knows; the product never does). */
export interface SimWindow {
  readonly features: FeatureWindow;
  readonly foreign: boolean;
}

/** Options of {@link AdaptiveUser}. */
export interface AdaptiveUserOptions {
  encoder: SharedEncoder | undefined;
  detector?: Partial<DetectorConfig>;
  driftConfig?: Readonly<DriftConfig>;
}

/**
 * One enrolled user's on-device model under a policy: enrolled on the given windows, then
 * sessions in order. Call {@link AdaptiveUser.dispose} when done.
 */
export class AdaptiveUser {
  private models!: ProductModels;
  private readonly template: FeatureWindow[];
  private readonly foreign: boolean[];
  private readonly anchor: TemplateAnchor;
  /** Enrolment windows at the head of the template (never replaced). */
  private readonly enrolment: number;
  private drift: DriftState = EMPTY_DRIFT_STATE;
  /** The windows waiting for growth across this user's sessions, as the worker keeps them. */
  private readonly pool = new GrowthPool<SimWindow>();
  /** Refits done. */
  refits = 0;
  /** Growth batches of confirmed epochs (safeguarded policy): [refused, admitted]. */
  readonly confirmedBatches: [number, number] = [0, 0];
  /** Growth batches by what the drift rule decided (safeguarded policy). */
  readonly admissions: Record<AdmissionReason, number> = {
    admitted: 0,
    confidence: 0,
    llr: 0,
    step: 0,
    distance: 0,
  };

  private constructor(
    readonly modality: Modality,
    enrolment: readonly FeatureWindow[],
    readonly policy: AdaptPolicy,
    private readonly options: AdaptiveUserOptions,
  ) {
    this.template = enrolment.slice();
    this.enrolment = enrolment.length;
    this.foreign = enrolment.map(() => false);
    this.anchor = templateAnchor(
      modality,
      enrolment.map((w) => w.vector),
    );
  }

  /** Enrols on `enrolment` (at least `PRODUCT.minEnrollWindows` windows). */
  static async enrol(
    modality: Modality,
    enrolment: readonly FeatureWindow[],
    policy: AdaptPolicy,
    options: AdaptiveUserOptions,
  ): Promise<AdaptiveUser> {
    const user = new AdaptiveUser(modality, enrolment, policy, options);
    await user.fit();
    return user;
  }

  private async fit(): Promise<void> {
    const models = await fitProductModels(
      this.modality,
      this.template.map(scorableWindow),
      this.options.encoder,
      { ...(this.options.detector === undefined ? {} : { detector: this.options.detector }) },
    );
    if (this.models !== undefined) disposeProductModels(this.models);
    this.models = models;
  }

  /** A window's LLR under the current model. */
  llr(w: FeatureWindow): number {
    return productLlr(this.models, scorableWindow(w));
  }

  /** Mean LLR of windows under the current model (the distance to their owner, as the model sees it). */
  meanLlr(windows: readonly FeatureWindow[]): number {
    if (windows.length === 0) return Number.NaN;
    return windows.reduce((a, w) => a + this.llr(w), 0) / windows.length;
  }

  /** The template's distance from the enrolment ({@link templateDistance}). */
  distance(): number {
    return templateDistance(
      this.anchor,
      this.template.map((w) => w.vector),
    );
  }

  /** Windows of the attacker in the template. */
  foreignInTemplate(): number {
    return this.foreign.filter(Boolean).length;
  }

  /**
   * One session, through the device's own session code ({@link ProductSession}: the decision,
   * growth's bookkeeping, the confirmation) and batch verdict ({@link judgeGrowthBatch}), with
   * a refit at once after an admitted batch (the worker refits before its next batch of events).
   * `stepUp` says what happens when the decision fires.
   */
  async session(windows: readonly SimWindow[], stepUp: StepUpModel): Promise<SessionOutcome> {
    const { maxEnrollWindows } = PRODUCT.growth;
    const delay = stepUp.confirmDelayWindows ?? 1;
    if (!(Number.isInteger(delay) && delay >= 0))
      throw new RangeError(`confirmDelayWindows must be an integer ≥ 0, got ${delay}`);
    const session = new ProductSession<SimWindow>(this.pool);
    let minConfidence = 1;
    let scored = 0;
    let stepUps = 0;
    let confirmations = 0;
    let cut = false;
    let stored = 0;
    let storedForeign = 0;
    const batches: BatchDetail[] = [];
    for (let i = 0; i < windows.length; i++) {
      const sw = windows[i]!;
      const before = session.decision?.takeover === true;
      const step = session.score(this.modality, sw, this.llr(sw.features));
      scored++;
      minConfidence = Math.min(minConfidence, step.confidence);
      if (step.decision.takeover && !before) {
        // The decision fired: the bank steps up (a false flag if this is the genuine user).
        stepUps++;
        if (stepUp.onStepUp === 'cut') {
          cut = true;
          break;
        }
        if (stepUp.onStepUp === 'confirm') {
          i += delay;
          session.confirm();
          confirmations++;
        }
        // The firing window's confidence is below the safe level: it never makes a batch.
        continue;
      }
      const batch = step.batch;
      if (batch === null || this.policy === 'frozen') continue;
      // `growth` is the rule before the drift rule: it stops at the template cap.
      const room = maxEnrollWindows - this.template.length;
      if (this.policy === 'growth' && room <= 0) continue;
      let replace = 0;
      if (this.policy === 'safeguarded') {
        const verdict = judgeGrowthBatch(
          this.drift,
          this.anchor,
          this.template.map((w) => w.vector),
          this.enrolment,
          {
            candidates: batch.items.map(({ window: w, llr }) => ({
              vector: w.features.vector,
              llr,
            })),
            minConfidence: batch.minConfidence,
            confirmed: batch.confirmed,
          },
          this.options.driftConfig ?? DRIFT,
        );
        this.drift = verdict.drift;
        this.admissions[verdict.admission.reason]++;
        const a = verdict.admission;
        batches.push({
          reason: a.reason,
          minConfidence: batch.minConfidence,
          floor: a.floor,
          quantile: a.quantile,
          median: median(batch.items.map((x) => x.llr)),
          gate: a.gate,
          step: a.step,
          distance: a.distance,
          drifted: verdict.drift.drifted,
          d: verdict.drift.d,
          confirmed: batch.confirmed,
        });
        if (batch.confirmed) this.confirmedBatches[verdict.admission.admitted ? 1 : 0]++;
        if (!verdict.admission.admitted) continue;
        replace = verdict.replace;
      }
      const chosen = (this.policy === 'growth' ? batch.items.slice(0, room) : batch.items).map(
        ({ window: w }) => w,
      );
      this.template.splice(this.enrolment, replace);
      this.foreign.splice(this.enrolment, replace);
      for (const c of chosen) {
        this.template.push(c.features);
        this.foreign.push(c.foreign);
      }
      stored += chosen.length;
      storedForeign += chosen.filter((c) => c.foreign).length;
      await this.fit();
      this.refits++;
    }
    return {
      windows: scored,
      flagged: stepUps > 0,
      stepUps,
      confirmations,
      cut,
      minConfidence,
      stored,
      storedForeign,
      drifted: this.drift.drifted,
      template: this.template.length,
      batches,
    };
  }

  dispose(): void {
    disposeProductModels(this.models);
  }
}

/** A simulated user: who, and their recordings in order. */
export interface SimUser {
  userId: string;
  recordings: readonly (readonly RawEvent[])[];
}

/**
 * A user's enrolment windows (the first `PRODUCT.minEnrollWindows` windows of their recordings,
 * in order, as the evaluation enrols) and the recordings after those that made them: the pool
 * sessions are drawn from. Null when the user has too few windows or nothing left.
 */
export function splitEnrolment(
  user: SimUser,
  modality: Modality,
): { enrol: FeatureWindow[]; held: (readonly RawEvent[])[] } | null {
  const n = PRODUCT.minEnrollWindows[modality];
  const enrol: FeatureWindow[] = [];
  let r = 0;
  while (r < user.recordings.length && enrol.length < n) {
    enrol.push(...productWindows([user.recordings[r]!], modality));
    r++;
  }
  const held = user.recordings.slice(r);
  if (enrol.length < n || held.length < 2) return null;
  return { enrol: enrol.slice(0, n), held };
}

/** What both simulations take: the product's modality, encoder, scorer and drift settings. */
interface SimCommonOptions {
  modality: Modality;
  encoder: SharedEncoder | undefined;
  seed: number;
  policies?: readonly AdaptPolicy[];
  detector?: Partial<DetectorConfig>;
  driftConfig?: Readonly<DriftConfig>;
}

/** Options of {@link simulateDrift}. */
export interface DriftSimOptions extends SimCommonOptions {
  /** Sessions per user. */
  sessions: number;
  /** Final timing factor − 1 (e.g. 0.25: 25 % slower by the last session; −0.25 faster). */
  drift: number;
  /** Recordings (sentences) per session, drawn from the user's held-out ones. */
  recordingsPerSession: number;
  /** Log-normal jitter σ of every inter-event gap. */
  jitter: number;
  /**
   * The genuine user at a step-up: `confirm` (the product: a passkey; the default) or `none`
   * (the ablation without confirmations).
   */
  onStepUp?: 'confirm' | 'none';
  /** {@link StepUpModel.confirmDelayWindows}. */
  confirmDelayWindows?: number;
}

/** One user's drift run under one policy. */
export interface DriftUserRun {
  userId: string;
  policy: AdaptPolicy;
  drift: number;
  sessions: (SessionOutcome & { factor: number })[];
  /** Template distance from enrolment at the end. */
  distance: number;
  /** Growth batches by what the drift rule decided (safeguarded policy; zeros otherwise). */
  admissions: Record<AdmissionReason, number>;
  /** Of them, batches typed after a confirmation: [refused, admitted]. */
  confirmedBatches: [number, number];
}

/** The factor of session s of S: 1 at the first, 1 + drift at the last, linear between. */
export function driftFactor(s: number, sessions: number, drift: number): number {
  return sessions <= 1 ? 1 + drift : 1 + (drift * s) / (sessions - 1);
}

/**
 * Sessions of a user's own held-out recordings at a gradually shifted pace: session s draws
 * `recordingsPerSession` recordings (seeded), each at {@link driftFactor} with jitter. The same
 * windows serve every policy.
 */
export function driftSessions(
  held: readonly (readonly RawEvent[])[],
  options: Pick<
    DriftSimOptions,
    'modality' | 'sessions' | 'drift' | 'recordingsPerSession' | 'jitter' | 'seed'
  >,
): { factor: number; windows: FeatureWindow[] }[] {
  const rng = createRng(options.seed);
  const out: { factor: number; windows: FeatureWindow[] }[] = [];
  for (let s = 0; s < options.sessions; s++) {
    const factor = driftFactor(s, options.sessions, options.drift);
    const order = shuffle(
      held.map((_, i) => i),
      rng,
    ).slice(0, Math.min(held.length, options.recordingsPerSession));
    const recordings = order.map((i) => shiftTimings(held[i]!, factor, options.jitter, rng));
    out.push({ factor, windows: productWindows(recordings, options.modality) });
  }
  return out;
}

function shuffle<T>(xs: T[], rng: Rng): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** The drift simulation of one user under every policy; null when the user has too little data. */
export async function simulateDrift(
  user: SimUser,
  options: DriftSimOptions,
): Promise<DriftUserRun[] | null> {
  const split = splitEnrolment(user, options.modality);
  if (split === null) return null;
  const sessions = driftSessions(split.held, options);
  const runs: DriftUserRun[] = [];
  for (const policy of options.policies ?? ADAPT_POLICIES) {
    const model = await AdaptiveUser.enrol(options.modality, split.enrol, policy, {
      encoder: options.encoder,
      ...(options.detector === undefined ? {} : { detector: options.detector }),
      ...(options.driftConfig === undefined ? {} : { driftConfig: options.driftConfig }),
    });
    const outcomes: DriftUserRun['sessions'] = [];
    for (const s of sessions) {
      const outcome = await model.session(
        s.windows.map((features) => ({ features, foreign: false })),
        {
          onStepUp: options.onStepUp ?? 'confirm',
          ...(options.confirmDelayWindows === undefined
            ? {}
            : { confirmDelayWindows: options.confirmDelayWindows }),
        },
      );
      outcomes.push({ ...outcome, factor: s.factor });
    }
    runs.push({
      userId: user.userId,
      policy,
      drift: options.drift,
      sessions: outcomes,
      distance: model.distance(),
      admissions: { ...model.admissions },
      confirmedBatches: [...model.confirmedBatches],
    });
    model.dispose();
  }
  return runs;
}

/** Options of {@link simulatePoisoning}. */
export interface PoisonSimOptions extends SimCommonOptions {
  /** Poisoning sessions. */
  sessions: number;
  /** Windows per session. */
  windowsPerSession: number;
  /** Share of the attacker's windows in a session, in (0, 1]. */
  attackerShare: number;
  /**
   * The attacker at a step-up: `cut` (the product: no strong factor, the bank ends the session
   * there; the default) or `none` (the session goes on under the fired decision; an ablation).
   */
  onStepUp?: 'cut' | 'none';
}

/** The distance between the model and the attacker, before the attack and after each session. */
export interface PoisonPoint {
  /** Mean LLR of the attacker's probe windows (never fed): higher = the model sees the attacker as the user. */
  attackerLlr: number;
  /** Mean LLR of the victim's own probe windows (never fed); NaN when the victim has no probe window. */
  victimLlr: number;
  /** Template distance from the enrolment. */
  distance: number;
  /** Attacker windows in the template. */
  foreignInTemplate: number;
}

/** One victim's poisoning run under one policy. */
export interface PoisonUserRun {
  victim: string;
  attacker: string;
  policy: AdaptPolicy;
  /** Index 0: before the first session; index s: after session s. */
  points: PoisonPoint[];
  sessions: SessionOutcome[];
}

/**
 * The poisoning simulation: the attacker (another real user) feeds sessions that mix their own
 * windows with the victim's (`attackerShare` of each session, interleaved), choosing each time
 * their windows the current model scores highest (an attacker who watches the confidence and
 * stays near the safe level). The attacker's probe windows (recordings never fed) and the
 * victim's (held-out recordings never fed) measure where the model stands after each session.
 */
export async function simulatePoisoning(
  victim: SimUser,
  attacker: SimUser,
  options: PoisonSimOptions,
): Promise<PoisonUserRun[] | null> {
  const split = splitEnrolment(victim, options.modality);
  if (split === null) return null;
  const victimFeed = split.held.filter((_, i) => i % 3 !== 2);
  const victimProbe = productWindows(
    split.held.filter((_, i) => i % 3 === 2),
    options.modality,
  );
  const attackerFeed = productWindows(
    attacker.recordings.filter((_, i) => i % 2 === 0),
    options.modality,
  );
  const attackerProbe = productWindows(
    attacker.recordings.filter((_, i) => i % 2 === 1),
    options.modality,
  );
  const genuine = productWindows(victimFeed, options.modality);
  if (genuine.length === 0 || attackerFeed.length === 0 || attackerProbe.length === 0) return null;
  const nForeign = Math.round(options.windowsPerSession * options.attackerShare);
  const nOwn = options.windowsPerSession - nForeign;
  const runs: PoisonUserRun[] = [];
  for (const policy of options.policies ?? ADAPT_POLICIES) {
    const rng = createRng(options.seed);
    const model = await AdaptiveUser.enrol(options.modality, split.enrol, policy, {
      encoder: options.encoder,
      ...(options.detector === undefined ? {} : { detector: options.detector }),
      ...(options.driftConfig === undefined ? {} : { driftConfig: options.driftConfig }),
    });
    const point = (): PoisonPoint => ({
      attackerLlr: model.meanLlr(attackerProbe),
      victimLlr: model.meanLlr(victimProbe),
      distance: model.distance(),
      foreignInTemplate: model.foreignInTemplate(),
    });
    const points = [point()];
    const sessions: SessionOutcome[] = [];
    for (let s = 0; s < options.sessions; s++) {
      // The attacker's best windows against the current model.
      const foreign = attackerFeed
        .map((w) => ({ w, llr: model.llr(w) }))
        .sort((a, b) => b.llr - a.llr)
        .slice(0, nForeign)
        .map((x) => x.w);
      const own = shuffle(genuine.slice(), rng).slice(0, nOwn);
      const mixed: SimWindow[] = [];
      for (let i = 0; i < Math.max(own.length, foreign.length); i++) {
        if (i < own.length) mixed.push({ features: own[i]!, foreign: false });
        if (i < foreign.length) mixed.push({ features: foreign[i]!, foreign: true });
      }
      sessions.push(await model.session(mixed, { onStepUp: options.onStepUp ?? 'cut' }));
      points.push(point());
    }
    runs.push({ victim: victim.userId, attacker: attacker.userId, policy, points, sessions });
    model.dispose();
  }
  return runs;
}
