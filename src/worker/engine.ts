/**
 * The worker's scoring engine: raw events → feature windows (model/features) → per-user,
 * per-modality models → the product scorer's window LLR → the session decision (CUSUM,
 * model/product). Each modality has two per-user models: the detector over the window's feature
 * vector (model/detector) and the embedding model over the shared encoder (model/shared, weights
 * shipped with the extension); the product's offline calibration fuses their scores.
 *
 * Until a modality has `minEnrollWindows` windows it is enrolling: its windows are stored
 * (as features, never raw events) and nothing is scored — no made-up confidence. Once enough
 * are stored, the model is trained on the device and every later window is scored.
 *
 * Every model belongs to one subject (a `LearningContext` from the service worker, given only
 * for a session the bank vouched for). A batch without one is neither learned from nor scored.
 *
 * After enrolment the model keeps learning (template growth, {@link Engine.grow}) only from
 * windows that cannot be an impostor's: those of a session that never fell below the safe
 * level, or those typed *after* the bank confirmed the session with a strong factor
 * ({@link Engine.confirmSession}: a passkey with user verification). Never the windows before a
 * confirmation: it proves who is present at the moment of the assertion, not who typed before
 * it (a takeover that the genuine user then interrupts, or that a coached victim confirms, has
 * an impostor's windows right before a valid confirmation). Such windows wait per subject, not
 * per session (model/product/session.ts `GrowthPool`), so short sessions add up to a batch.
 */
import * as tf from '@tensorflow/tfjs';
import { base64url } from 'jose';
import type { RawEventBatch } from '../../model/events/schema';
import {
  EmbeddingUserModel,
  PRODUCT,
  fitProductModels,
  productLlr,
  productConfidence,
  BlockScorer,
  BLOCK_FEATURE_VERSION,
  shippedBlockProjection,
  type ProductModels,
  FEATURE_SCHEMA_VERSION,
  SEQUENCE_SCHEMA_VERSION,
  encoderFromJSON,
  type EmbeddingModelJSON,
  type FeatureWindow,
  type SharedEncoder,
  IGNORED_KEY_FLAGS,
  IGNORED_POINTER_FLAGS,
  MODEL_VERSION,
  UserModel,
  checkGolden,
  createWindower,
  type Windower,
} from '../../model';
import goldenFile from '../../model/features/golden-v2.json';
import keystrokeEncoderFile from '../../model/shared/default-keystroke.json';
import type { LocalUpdateConfig } from '../../model/federated/local-update';
import { SignalTracker, type SessionSignals } from '../../model/signals';
import { encoderId } from '../../model/shared/embedding-model';
import { type DriftState, EMPTY_DRIFT_STATE, templateAnchor } from '../../model/product/drift';
import {
  type GrowthBatch,
  GrowthPool,
  ProductSession,
  judgeGrowthBatch,
} from '../../model/product/session';
import type {
  AdoptEncoderReply,
  ConfirmReply,
  FederatedRoundSpec,
  FederatedUpdateReply,
  GoldenReply,
  LearningContext,
  ScoreUpdate,
  StoreDescription,
  WorkerStatus,
} from '../shared/protocol';
import { initBackend } from './backend';
import { AdoptedEncoderStore, publicCentresFor, runLocalRound } from './federated';
import { ModelStore, type Modality } from './model-store';

const MODALITIES: readonly Modality[] = ['keystroke', 'pointer'];

/** Sessions whose signals are kept (the newest); an older one starts again from zero. */
const MAX_SIGNAL_SESSIONS = 32;

/**
 * The shared encoders shipped with the extension (provenance in model/shared/README.md): the
 * keystroke one only — the product scores the pointer without an embedding (PRODUCT.components).
 */
function loadEncoders(): Map<Modality, SharedEncoder> {
  const encoders = new Map<Modality, SharedEncoder>();
  for (const file of [keystrokeEncoderFile]) {
    const encoder = encoderFromJSON(file);
    encoders.set(encoder.modality, encoder);
  }
  return encoders;
}

/** A modality's per-user models (the product scorer's: model/product/scorer.ts). */
type ModalityModels = ProductModels;

/** One subject's models and enrolment counts. */
interface SubjectModels {
  readonly key: string;
  readonly models: Map<Modality, ModalityModels>;
  readonly enrolCounts: Map<Modality, number>;
}

export class Engine {
  private readonly encoders = loadEncoders();
  /**
   * The public centres (JSON text) that came signed with each adopted encoder, for its local
   * rounds; absent for the shipped encoder (its centres are shipped: `publicCentresFor`).
   */
  private readonly adoptedCentres = new Map<Modality, string | null>();
  /** Subjects loaded from the store so far (each loaded once, on its first batch). */
  private readonly subjects = new Map<string, Promise<SubjectModels>>();
  private readonly windowers = new Map<string, Windower>();
  /**
   * Per (session, subject) key: the session decision and template growth's bookkeeping
   * (model/product/session.ts, the code the drift simulation runs too).
   */
  private readonly sessions = new Map<string, ProductSession<FeatureWindow>>();
  /** Per subject key: the windows waiting for growth, across that subject's sessions. */
  private readonly growthPools = new Map<string, GrowthPool<FeatureWindow>>();
  private training: Promise<void> = Promise.resolve();
  /**
   * The drift monitor (model/product/drift.ts) per subject and modality. In memory: a worker
   * restart starts a new reference, which only makes the rule stricter until it is set again.
   */
  private readonly driftStates = new Map<string, DriftState>();
  /** The session signals per session id (model/signals), whoever the session's subject is. */
  private readonly signals = new Map<string, SignalTracker>();
  /** When each subject's models were last marked used (the store writes it once a day at most). */
  private readonly markedUsed = new Map<string, number>();

  /** The open store; null after `eraseAll` until something needs it (then a fresh, empty one). */
  private opened: Promise<ModelStore> | null;

  private constructor(
    store: ModelStore,
    private readonly backend: string,
    private readonly adopted: AdoptedEncoderStore | null = null,
    private readonly roundSettings: Partial<LocalUpdateConfig> = {},
    private readonly storeName: string = store.name,
  ) {
    this.opened = Promise.resolve(store);
  }

  private store(): Promise<ModelStore> {
    this.opened ??= ModelStore.open(this.storeName).catch((error: unknown) => {
      this.opened = null;
      throw error;
    });
    return this.opened;
  }

  static async start(): Promise<Engine> {
    const backend = await initBackend();
    const engine = Engine.withStore(await ModelStore.open(), backend, new AdoptedEncoderStore());
    await engine.loadAdopted();
    return engine;
  }

  /**
   * An engine over `store` (the worker's start, and tests with their own store). With `adopted`,
   * the encoders adopted later are stored there, and `loadAdopted` reads them back.
   */
  static withStore(
    store: ModelStore,
    backend: string,
    adopted: AdoptedEncoderStore | null = null,
    /** Local round settings over `FEDERATED_DEFAULTS` (tests only: a smaller round). */
    roundSettings: Partial<LocalUpdateConfig> = {},
  ): Engine {
    // Refuse to run with a feature extractor that disagrees with the checked-in golden vectors.
    const golden = checkGolden(goldenFile);
    if (!golden.ok) throw new Error(`feature golden check failed: ${golden.failures.join(', ')}`);
    return new Engine(store, backend, adopted, roundSettings);
  }

  /** An encoder adopted earlier (a verified model version) replaces the shipped one. */
  async loadAdopted(): Promise<void> {
    for (const modality of MODALITIES) {
      const record = await this.adopted?.load(modality);
      if (record === undefined) continue;
      try {
        this.encoders.set(modality, encoderFromJSON(JSON.parse(record.text)));
        // Null for a record adopted before versions carried centres: it scores, and its
        // rounds are skipped (ERR_FL_NO_CENTRES) until the next version comes with its own.
        this.adoptedCentres.set(modality, record.centres);
      } catch (error) {
        // It was verified when adopted; unreadable now (a format change): the shipped one scores.
        console.warn('[tacit] adopted encoder refused', (error as { code?: string }).code);
      }
    }
  }

  private subject(key: string): Promise<SubjectModels> {
    let loaded = this.subjects.get(key);
    if (!loaded) {
      loaded = this.load(key);
      this.subjects.set(key, loaded);
      // A failed load is retried on the next batch rather than remembered.
      loaded.catch(() => this.subjects.delete(key));
    }
    return loaded;
  }

  private async load(key: string): Promise<SubjectModels> {
    const subject: SubjectModels = { key, models: new Map(), enrolCounts: new Map() };
    for (const modality of MODALITIES) {
      const stored = await (
        await this.store()
      ).windows(
        key,
        modality,
        FEATURE_SCHEMA_VERSION,
        SEQUENCE_SCHEMA_VERSION,
        BLOCK_FEATURE_VERSION,
      );
      subject.enrolCounts.set(modality, stored.length);
      await this.loadModels(subject, modality);
      // A shared model changed (a new encoder or block projection): the component's stored model
      // was refused, so the modality is refitted from the stored windows, which keep everything
      // a refit needs, rather than scoring without that component until the user re-enrols.
      const models = subject.models.get(modality);
      const lacks = (c: 'embedding' | 'block', usable: number): boolean =>
        PRODUCT.components[modality].includes(c) &&
        models?.[c] === undefined &&
        (c === 'block' || this.encoders.has(modality)) &&
        usable >= PRODUCT.minEnrollWindows[modality];
      if (
        models !== undefined &&
        (lacks('embedding', stored.filter((w) => w.steps !== undefined).length) ||
          lacks('block', stored.filter((w) => w.block !== undefined).length))
      ) {
        await this.fit(subject, modality);
      }
    }
    return subject;
  }

  /** The stored models of a modality, each component that still matches the shipped models. */
  private async loadModels(subject: SubjectModels, modality: Modality): Promise<void> {
    const key = subject.key;
    {
      const stored = await (await this.store()).loadModel(key, modality);
      if (stored === null) return;
      try {
        const detector = UserModel.fromJSON(stored.json);
        let embedding: EmbeddingUserModel | undefined;
        const encoder = this.encoders.get(modality);
        if (stored.embedding !== undefined && encoder !== undefined) {
          try {
            embedding = EmbeddingUserModel.fromJSON(
              encoder,
              stored.embedding as EmbeddingModelJSON,
            );
          } catch (error) {
            // Enrolled with another shared encoder: the detector alone scores until re-enrolment.
            console.warn(
              '[tacit] stored embedding model refused',
              (error as { code?: string }).code,
            );
          }
        }
        let block: BlockScorer | undefined;
        if (stored.block !== undefined) {
          try {
            block = BlockScorer.fromJSON(shippedBlockProjection(), stored.block);
          } catch (error) {
            // Fitted with another projection: scored without it until the next refit.
            console.warn('[tacit] stored block scorer refused', (error as { code?: string }).code);
          }
        }
        subject.models.set(modality, {
          detector,
          ...(embedding === undefined ? {} : { embedding }),
          ...(block === undefined ? {} : { block }),
        });
      } catch (error) {
        // A model of another feature schema (or a corrupt one) is not used: enrol again. The
        // federated target goes with it: it belonged to the model being replaced.
        console.warn('[tacit] stored model refused', (error as { code?: string }).code);
        await (await this.store()).deleteTarget(key, modality);
      }
    }
  }

  private windower(key: string): Windower {
    let windower = this.windowers.get(key);
    if (!windower) {
      windower = createWindower(PRODUCT.windows);
      this.windowers.set(key, windower);
    }
    return windower;
  }

  private session(key: string, subjectKey: string): ProductSession<FeatureWindow> {
    let session = this.sessions.get(key);
    if (session === undefined) {
      let pool = this.growthPools.get(subjectKey);
      if (pool === undefined) {
        pool = new GrowthPool();
        this.growthPools.set(subjectKey, pool);
      }
      session = new ProductSession(pool);
      this.sessions.set(key, session);
    }
    return session;
  }

  private async enrol(
    subject: SubjectModels,
    modality: Modality,
    window: FeatureWindow,
  ): Promise<void> {
    await this.storeWindow(subject, modality, window);
    const count = subject.enrolCounts.get(modality) ?? 0;
    if (count >= PRODUCT.minEnrollWindows[modality] && !subject.models.has(modality)) {
      await this.fit(subject, modality);
    }
  }

  private async storeWindow(
    subject: SubjectModels,
    modality: Modality,
    window: FeatureWindow,
  ): Promise<void> {
    await (
      await this.store()
    ).addWindow({
      subject: subject.key,
      modality,
      featureSchema: FEATURE_SCHEMA_VERSION,
      vector: Array.from(window.vector),
      steps: Array.from(window.steps),
      stepCount: window.stepCount,
      sequenceSchema: SEQUENCE_SCHEMA_VERSION,
      ...(window.block === undefined
        ? {}
        : { block: Array.from(window.block), blockVersion: BLOCK_FEATURE_VERSION }),
      createdAt: Date.now(),
    });
    subject.enrolCounts.set(modality, (subject.enrolCounts.get(modality) ?? 0) + 1);
  }

  /** Fits (or refits) a modality's models on every stored window; the replaced model is kept. */
  private async fit(subject: SubjectModels, modality: Modality): Promise<void> {
    const stored = await (
      await this.store()
    ).windows(
      subject.key,
      modality,
      FEATURE_SCHEMA_VERSION,
      SEQUENCE_SCHEMA_VERSION,
      BLOCK_FEATURE_VERSION,
    );
    const models = await fitProductModels(
      modality,
      stored.map((w) => ({
        vector: Float32Array.from(w.vector),
        ...(w.steps === undefined
          ? {}
          : { sequence: { steps: new Float32Array(w.steps.steps), n: w.steps.n } }),
        ...(w.block === undefined ? {} : { block: w.block }),
      })),
      this.encoders.get(modality),
    );
    const replaced = subject.models.get(modality);
    subject.models.set(modality, models);
    replaced?.detector.dispose();
    await (
      await this.store()
    ).saveModel(
      subject.key,
      modality,
      models.detector.toJSON(),
      models.embedding?.toJSON(),
      { featureSchema: FEATURE_SCHEMA_VERSION },
      models.block?.toJSON(),
    );
  }

  /**
   * Template growth (PRODUCT.growth) under the drift rule: a full batch of a session that never
   * fell below the safe level (since it started, or since the bank last confirmed it:
   * {@link confirmSession}; model/product/session.ts keeps that bookkeeping) is judged by
   * `judgeGrowthBatch` (the drift monitor reads it, `admitGrowth` admits it whole or refuses it).
   * An admitted batch is stored, replacing the oldest grown windows once the template holds
   * `maxEnrollWindows` (never the enrolment). True when windows were stored and the modality
   * should be refitted.
   */
  private async grow(subject: SubjectModels, batch: GrowthBatch<FeatureWindow>): Promise<boolean> {
    const { modality } = batch;
    const store = await this.store();
    const template = await store.windows(
      subject.key,
      modality,
      FEATURE_SCHEMA_VERSION,
      SEQUENCE_SCHEMA_VERSION,
      BLOCK_FEATURE_VERSION,
    );
    const enrolment = Math.min(PRODUCT.minEnrollWindows[modality], template.length);
    if (enrolment === 0) return false;
    const driftKey = `${subject.key}\u0000${modality}`;
    const vectors = template.map((w) => w.vector);
    const verdict = judgeGrowthBatch(
      this.driftStates.get(driftKey) ?? EMPTY_DRIFT_STATE,
      templateAnchor(modality, vectors.slice(0, enrolment)),
      vectors,
      enrolment,
      {
        candidates: batch.items.map((p) => ({ vector: p.window.vector, llr: p.llr })),
        minConfidence: batch.minConfidence,
        confirmed: batch.confirmed,
      },
    );
    this.driftStates.set(driftKey, verdict.drift);
    if (!verdict.admission.admitted) return false;
    const dropped = await store.replaceOldest(subject.key, modality, enrolment, verdict.replace);
    subject.enrolCounts.set(modality, (subject.enrolCounts.get(modality) ?? 0) - dropped);
    for (const p of batch.items) await this.storeWindow(subject, modality, p.window);
    return true;
  }

  /**
   * The bank confirmed session `sid` of the subject in `learn` with a strong factor: the
   * decision starts a new epoch (the CUSUM from 0: confidence ≈ 0.95 once a window is scored,
   * the sticky takeover cleared), the window in progress is dropped (its events were typed
   * before the confirmation), and template growth starts afresh from the next window (see the
   * module comment for why never from the windows before). Serialised with scoring and training.
   */
  confirmSession(sid: string, learn: LearningContext): Promise<ConfirmReply> {
    const key = `${sid}\u0000${learn.subjectKey}`;
    const run = this.training.then((): ConfirmReply => {
      const reset = this.session(key, learn.subjectKey).confirm();
      this.windowers.delete(key);
      return { reset };
    });
    this.training = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** A window's LLR: the product scorer's rule. */
  private static score(models: ModalityModels, window: FeatureWindow): number {
    return productLlr(models, {
      vector: window.vector,
      sequence: { steps: window.steps, n: window.stepCount },
      ...(window.block === undefined ? {} : { block: window.block }),
    });
  }

  /**
   * Feeds a session's signals with every batch of the session, learning context or not: the
   * signals describe the input, not whose model it fits, and untrusted events count here only.
   */
  private sessionSignals(batch: RawEventBatch, sid: string | null): SessionSignals | undefined {
    if (sid === null) return undefined;
    let tracker = this.signals.get(sid);
    if (tracker === undefined) {
      tracker = new SignalTracker();
      this.signals.set(sid, tracker);
      const oldest = this.signals.keys().next().value;
      if (this.signals.size > MAX_SIGNAL_SESSIONS && oldest !== undefined) {
        this.signals.delete(oldest);
      }
    }
    tracker.push(batch);
    return tracker.values();
  }

  async ingest(
    batch: RawEventBatch,
    sid: string | null,
    learn: LearningContext | null,
  ): Promise<ScoreUpdate> {
    const signals = this.sessionSignals(batch, sid);
    if (learn === null) {
      // No subject the bank vouched for: the events are dropped, not even windowed, so that no
      // later window of this session mixes them in.
      return {
        learning: false,
        state: 'enrolling',
        progress: 0,
        confidence: null,
        decision: null,
        windowsScored: 0,
        counts: { k: 0, p: 0 },
        modelVersion: MODEL_VERSION,
        ...(signals === undefined ? {} : { signals }),
      };
    }
    const subject = await this.subject(learn.subjectKey);
    // Windows and fusion per (session, subject): a session never mixes two subjects' windows.
    const key = `${sid ?? ''}\u0000${learn.subjectKey}`;
    const counts = { k: 0, p: 0 };
    // What the attestation's `n` reports: the events the model could actually learn from.
    for (const event of batch.events) {
      const f = event.f ?? 0;
      if (event.k === 'kd' || event.k === 'ku') {
        if (!(f & IGNORED_KEY_FLAGS)) counts.k++;
      } else if (event.k === 'pm' || event.k === 'pd' || event.k === 'pu' || event.k === 'wh') {
        if (!(f & IGNORED_POINTER_FLAGS)) counts.p++;
      }
    }
    const windows = this.windower(key).push(batch.events);
    let windowsScored = 0;
    let confidence: number | null = null;
    const refits = new Set<Modality>();
    // Training is serialized: two batches must not train the same model twice.
    const work = this.training.then(async () => {
      const session = this.session(key, learn.subjectKey);
      for (const window of windows) {
        const models = subject.models.get(window.modality);
        if (!models) {
          await this.enrol(subject, window.modality, window);
          continue;
        }
        const step = session.score(window.modality, window, Engine.score(models, window));
        confidence = step.confidence;
        windowsScored++;
        if (step.batch !== null && (await this.grow(subject, step.batch))) {
          refits.add(window.modality);
        }
      }
      if (windowsScored > 0) await this.markUsed(subject.key);
    });
    this.training = work.catch(() => undefined);
    await work;
    // Refits run after this batch's answer, off the scoring path (the next batch waits).
    for (const modality of refits) {
      this.training = this.training
        .then(() => this.fit(subject, modality))
        .catch((error: unknown) =>
          console.warn('[tacit] template growth refit failed', (error as { code?: string }).code),
        );
    }
    const session = this.sessions.get(key);
    const decision = session?.decision;
    return {
      learning: true,
      state: subject.models.size > 0 ? 'scoring' : 'enrolling',
      progress: this.progress(subject),
      confidence: confidence ?? (decision === undefined ? null : productConfidence(decision)),
      decision:
        decision === undefined
          ? null
          : {
              takeover: decision.takeover,
              windows: { k: decision.windows.keystroke, p: decision.windows.pointer },
              ...(session?.dipped === true ? { dipped: true } : {}),
            },
      windowsScored,
      counts,
      modelVersion: Engine.modelVersion(subject),
      ...(signals === undefined ? {} : { signals }),
    };
  }

  private progress(subject: SubjectModels): number {
    let best = 0;
    for (const modality of MODALITIES) {
      if (subject.models.has(modality)) return 1;
      best = Math.max(
        best,
        Math.min(1, (subject.enrolCounts.get(modality) ?? 0) / PRODUCT.minEnrollWindows[modality]),
      );
    }
    return best;
  }

  /**
   * Format versions plus which modalities are trained, e.g. `um1.fs2.sq1+k+p`; a modality scored
   * with its shared encoder too is in capitals (`+K`).
   */
  private static modelVersion(subject: SubjectModels): string {
    const trained = MODALITIES.filter((m) => subject.models.has(m)).map((m) =>
      subject.models.get(m)!.embedding !== undefined ? `+${m[0]!.toUpperCase()}` : `+${m[0]}`,
    );
    return `${MODEL_VERSION}${trained.join('')}`;
  }

  /** The model of the subject in `learn`; without one, a status that describes no one. */
  async status(learn: LearningContext | null): Promise<WorkerStatus> {
    const subject =
      learn === null
        ? { key: '', models: new Map(), enrolCounts: new Map() }
        : await this.subject(learn.subjectKey);
    const modalities = {} as WorkerStatus['modalities'];
    for (const modality of MODALITIES) {
      modalities[modality] = {
        trained: subject.models.has(modality),
        enrolWindows: subject.enrolCounts.get(modality) ?? 0,
      };
    }
    return {
      subject: learn !== null,
      backend: tf.getBackend() ?? this.backend,
      state: subject.models.size > 0 ? 'scoring' : 'enrolling',
      progress: this.progress(subject),
      modelVersion: Engine.modelVersion(subject),
      modalities,
    };
  }

  private async markUsed(subject: string): Promise<void> {
    const now = Date.now();
    if (now - (this.markedUsed.get(subject) ?? 0) < 3_600_000) return;
    this.markedUsed.set(subject, now);
    await (await this.store()).markUsed(subject, now);
  }

  /** Stored windows and models per subject key. */
  counts() {
    return this.store().then((store) => store.counts());
  }

  /** Metadata of what is stored (export): counts and times, never vectors or weights. */
  describe(): Promise<StoreDescription> {
    return this.store().then((store) => store.describe());
  }

  /**
   * Deletes windows older than `maxAgeMs` and models unused for that long. Subjects are reloaded
   * on their next batch, so an enrolment whose windows expired starts again from what is left.
   */
  applyRetention(maxAgeMs: number): Promise<{ windows: number; models: number }> {
    const run = this.training.then(async () => {
      const deleted = await (await this.store()).deleteOlderThan(Date.now() - maxAgeMs);
      if (deleted.windows + deleted.models > 0) {
        this.subjects.clear();
        this.driftStates.clear();
        this.growthPools.clear();
      }
      return deleted;
    });
    this.training = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Deletes every window, model and the store's key; a new, empty store is made on next use. */
  eraseAll(): Promise<void> {
    const run = this.training.then(async () => {
      if (this.opened !== null) (await this.opened).close();
      this.opened = null;
      await ModelStore.destroy(this.storeName);
      this.subjects.clear();
      this.windowers.clear();
      this.sessions.clear();
      this.growthPools.clear();
      this.driftStates.clear();
      this.markedUsed.clear();
      this.signals.clear();
    });
    this.training = run.catch(() => undefined);
    return run;
  }

  /**
   * One local federated round (`runLocalRound`) on the keystroke step sequences of the subject
   * with the most stored windows: a device holds one user's round (docs/federated.md), and a
   * shared browser's other subjects are not mixed into it. The subject's kept target comes from
   * the model store; a target made in this round (the subject's first) is stored, sealed, before
   * the update leaves the worker, so every later round and version trains towards the same one.
   * Serialised with training.
   */
  federatedUpdate(spec: FederatedRoundSpec): Promise<FederatedUpdateReply> {
    const run = this.training.then(async (): Promise<FederatedUpdateReply> => {
      const encoder = this.encoders.get('keystroke');
      if (encoder === undefined) return { ok: false, code: 'ERR_FL_ENCODER' };
      const store = await this.store();
      const counts = (await store.counts()).windows;
      const subject = Object.keys(counts).sort((a, b) => counts[b]! - counts[a]!)[0];
      const stored =
        subject === undefined
          ? []
          : await store.windows(
              subject,
              'keystroke',
              FEATURE_SCHEMA_VERSION,
              SEQUENCE_SCHEMA_VERSION,
              BLOCK_FEATURE_VERSION,
            );
      const sequences = stored.flatMap((w) =>
        w.steps === undefined ? [] : [{ steps: new Float32Array(w.steps.steps), n: w.steps.n }],
      );
      const target =
        subject === undefined
          ? undefined
          : await store.loadTarget(subject, 'keystroke', SEQUENCE_SCHEMA_VERSION);
      const result = await runLocalRound(
        encoder,
        sequences,
        spec,
        (a) => crypto.getRandomValues(a),
        {
          centres: this.adoptedCentres.get('keystroke') ?? null,
          training: this.roundSettings,
          ...(target === undefined ? {} : { target }),
        },
      );
      if (!result.ok) return result;
      if (result.newTarget !== undefined && subject !== undefined) {
        await store.saveTarget(subject, 'keystroke', result.newTarget, {
          sequenceSchema: SEQUENCE_SCHEMA_VERSION,
          encoderId: spec.encoderId,
        });
      }
      return {
        ok: true,
        update: base64url.encode(result.bytes),
        bytes: result.bytes.length,
        ms: result.ms,
      };
    });
    this.training = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Adopts a verified shared encoder and its public centres (the background checked the
   * signature over both; `enc` is the signed claim that names the encoder): the encoder must
   * load and its id be `enc` (`ERR_MODEL_ENCODER`: a signed claim about another encoder is not
   * trusted for this one), and the centres must parse for that id and dimension
   * (`ERR_MODEL_CENTRES`); else nothing is adopted. Then both are stored, the encoder used for
   * scoring and the centres for its local rounds; every subject with a stored model is
   * reloaded, and `load` refits a modality whose stored embedding model the new encoder refuses
   * (enrolled with another encoder) from its stored step sequences — enrolment's own fit,
   * nothing re-enrolled. The subjects' kept federated targets stay as they are: the target is
   * the centre under the first version a device trained, on purpose (docs/federated.md
   * "Device state").
   */
  adoptEncoder(
    text: string,
    ver: number,
    enc: string,
    centres: string,
  ): Promise<AdoptEncoderReply> {
    const run = this.training.then(async (): Promise<AdoptEncoderReply> => {
      let encoder: SharedEncoder;
      try {
        encoder = encoderFromJSON(JSON.parse(text));
      } catch {
        return { ok: false, code: 'ERR_MODEL_ENCODER' };
      }
      if (encoderId(encoder) !== enc) return { ok: false, code: 'ERR_MODEL_ENCODER' };
      const modality = encoder.modality as Modality;
      const current = this.encoders.get(modality);
      if (current === undefined) throw new Error('no shared encoder of this modality is used');
      if (publicCentresFor(encoder, centres) === undefined) {
        return { ok: false, code: 'ERR_MODEL_CENTRES' };
      }
      const id = encoderId(encoder);
      await this.adopted?.save(modality, ver, text, centres);
      this.adoptedCentres.set(modality, centres);
      if (encoderId(current) === id) return { ok: true, encoderId: id, refitted: 0 };
      this.encoders.set(modality, encoder);
      this.subjects.clear();
      this.sessions.clear();
      this.growthPools.clear();
      this.driftStates.clear();
      let refitted = 0;
      const keys = Object.keys((await (await this.store()).counts()).models);
      for (const key of keys) {
        const subject = await this.subject(key);
        if (subject.models.get(modality)?.embedding !== undefined) refitted++;
      }
      return { ok: true, encoderId: id, refitted };
    });
    this.training = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async checkGolden(): Promise<GoldenReply> {
    const check = checkGolden(goldenFile);
    return { ok: check.ok, maxAbsDiff: check.maxAbsDiff };
  }
}
