/**
 * The worker's scoring engine: raw events → feature windows (model/features) → per-user,
 * per-modality models → fused session confidence (model/fusion). Each modality has two per-user
 * models: the detector over the window's feature vector (model/detector) and the embedding model
 * over the shared encoder (model/shared, weights shipped with the extension); a window's
 * confidence is their mean.
 *
 * Until a modality has `minEnrollWindows` windows it is enrolling: its windows are stored
 * (as features, never raw events) and nothing is scored — no made-up confidence. Once enough
 * are stored, the model is trained on the device and every later window is scored.
 */
import * as tf from '@tensorflow/tfjs';
import type { RawEventBatch } from '../../model/events/schema';
import {
  EMPTY_FUSION_STATE,
  EmbeddingUserModel,
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
  fusionResult,
  resolveFusionConfig,
  updateFusion,
  type FusionState,
  type Windower,
} from '../../model';
import goldenFile from '../../model/features/golden-v2.json';
import keystrokeEncoderFile from '../../model/shared/default-keystroke.json';
import pointerEncoderFile from '../../model/shared/default-pointer.json';
import type { GoldenReply, ScoreUpdate, WorkerStatus } from '../shared/protocol';
import { initBackend } from './backend';
import { ModelStore, type Modality } from './model-store';

const MODALITIES: readonly Modality[] = ['keystroke', 'pointer'];
/**
 * Session fusion: a short half-life so that a change of person shows within a few windows
 * (continuous authentication), weighting keystrokes above pointer movement.
 */
const FUSION = resolveFusionConfig({ halfLifeWindows: 3 });
/**
 * On the device a user types far more than in a lab session, so enrolment waits for 10
 * windows (≈ 200 keystrokes) rather than the library's minimum: calibration on fewer windows
 * proved fragile for real typing (e2e).
 */
const DETECTOR = { minEnrollWindows: 10 } as const;

/** The shared encoders shipped with the extension (provenance in model/shared/README.md). */
function loadEncoders(): Map<Modality, SharedEncoder> {
  const encoders = new Map<Modality, SharedEncoder>();
  for (const file of [keystrokeEncoderFile, pointerEncoderFile]) {
    const encoder = encoderFromJSON(file);
    encoders.set(encoder.modality, encoder);
  }
  return encoders;
}

/** A modality's per-user models. */
interface ModalityModels {
  detector: UserModel;
  /** Absent when the enrolment windows had no step sequences (stored by an older build). */
  embedding?: EmbeddingUserModel;
}

export class Engine {
  private readonly models = new Map<Modality, ModalityModels>();
  private readonly encoders = loadEncoders();
  private readonly enrolCounts = new Map<Modality, number>();
  private readonly windowers = new Map<string, Windower>();
  private readonly fusions = new Map<string, FusionState>();
  private training: Promise<void> = Promise.resolve();

  private constructor(
    private readonly store: ModelStore,
    private readonly backend: string,
    private readonly minEnrollWindows: number,
  ) {}

  static async start(): Promise<Engine> {
    const backend = await initBackend();
    const store = await ModelStore.open();
    // Refuse to run with a feature extractor that disagrees with the checked-in golden vectors.
    const golden = checkGolden(goldenFile);
    if (!golden.ok) throw new Error(`feature golden check failed: ${golden.failures.join(', ')}`);
    const engine = new Engine(store, backend, DETECTOR.minEnrollWindows);
    for (const modality of MODALITIES) {
      engine.enrolCounts.set(
        modality,
        (await store.windows(modality, FEATURE_SCHEMA_VERSION, SEQUENCE_SCHEMA_VERSION)).length,
      );
      const stored = await store.loadModel(modality);
      if (stored === null) continue;
      try {
        const models: ModalityModels = { detector: UserModel.fromJSON(stored.json) };
        const encoder = engine.encoders.get(modality);
        if (stored.embedding !== undefined && encoder !== undefined) {
          try {
            models.embedding = EmbeddingUserModel.fromJSON(encoder, stored.embedding as EmbeddingModelJSON);
          } catch (error) {
            // Enrolled with another shared encoder: the detector alone scores until re-enrolment.
            console.warn('[tacit] stored embedding model refused', (error as { code?: string }).code);
          }
        }
        engine.models.set(modality, models);
      } catch (error) {
        // A model of another feature schema (or a corrupt one) is not used: enrol again.
        console.warn('[tacit] stored model refused', (error as { code?: string }).code);
      }
    }
    return engine;
  }

  private windower(key: string): Windower {
    let windower = this.windowers.get(key);
    if (!windower) {
      windower = createWindower();
      this.windowers.set(key, windower);
    }
    return windower;
  }

  private fuse(key: string, modality: Modality, confidence: number): number | null {
    const state = updateFusion(this.fusions.get(key) ?? EMPTY_FUSION_STATE, { modality, confidence }, FUSION);
    this.fusions.set(key, state);
    return fusionResult(state).confidence;
  }

  private async enrol(modality: Modality, window: FeatureWindow): Promise<void> {
    await this.store.addWindow({
      modality,
      featureSchema: FEATURE_SCHEMA_VERSION,
      vector: Array.from(window.vector),
      steps: Array.from(window.steps),
      stepCount: window.stepCount,
      sequenceSchema: SEQUENCE_SCHEMA_VERSION,
      createdAt: Date.now(),
    });
    const count = (this.enrolCounts.get(modality) ?? 0) + 1;
    this.enrolCounts.set(modality, count);
    if (count >= this.minEnrollWindows && !this.models.has(modality)) {
      const stored = await this.store.windows(modality, FEATURE_SCHEMA_VERSION, SEQUENCE_SCHEMA_VERSION);
      const detector = new UserModel(modality, DETECTOR);
      await detector.fit(stored.map((w) => new Float32Array(w.vector)));
      const models: ModalityModels = { detector };
      const encoder = this.encoders.get(modality);
      const sequences = stored.flatMap((w) =>
        w.steps === undefined ? [] : [{ steps: new Float32Array(w.steps.steps), n: w.steps.n }],
      );
      if (encoder !== undefined && sequences.length >= DETECTOR.minEnrollWindows) {
        const embedding = new EmbeddingUserModel(encoder, { minEnrollWindows: DETECTOR.minEnrollWindows });
        embedding.fit(sequences);
        models.embedding = embedding;
      }
      this.models.set(modality, models);
      await this.store.saveModel(modality, detector.toJSON(), models.embedding?.toJSON());
    }
  }

  /** A window's confidence: the mean of the modality's per-user models. */
  private static score(models: ModalityModels, window: FeatureWindow): number {
    const detector = models.detector.score(window.vector);
    if (models.embedding === undefined || window.stepCount < 2) return detector;
    return (detector + models.embedding.score({ steps: window.steps, n: window.stepCount })) / 2;
  }

  async ingest(batch: RawEventBatch, sid: string | null): Promise<ScoreUpdate> {
    const key = sid ?? '';
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
    // Training is serialized: two batches must not train the same model twice.
    const work = this.training.then(async () => {
      for (const window of windows) {
        const models = this.models.get(window.modality);
        if (!models) {
          await this.enrol(window.modality, window);
          continue;
        }
        confidence = this.fuse(key, window.modality, Engine.score(models, window));
        windowsScored++;
      }
    });
    this.training = work.catch(() => undefined);
    await work;
    return {
      state: this.models.size > 0 ? 'scoring' : 'enrolling',
      progress: this.progress(),
      confidence: confidence ?? fusionResult(this.fusions.get(key) ?? EMPTY_FUSION_STATE).confidence,
      windowsScored,
      counts,
      modelVersion: this.modelVersion(),
    };
  }

  private progress(): number {
    let best = 0;
    for (const modality of MODALITIES) {
      if (this.models.has(modality)) return 1;
      best = Math.max(best, Math.min(1, (this.enrolCounts.get(modality) ?? 0) / this.minEnrollWindows));
    }
    return best;
  }

  /**
   * Format versions plus which modalities are trained, e.g. `um1.fs2.sq1+k+p`; a modality scored
   * with its shared encoder too is in capitals (`+K`).
   */
  private modelVersion(): string {
    const trained = MODALITIES.filter((m) => this.models.has(m)).map((m) =>
      this.models.get(m)!.embedding !== undefined ? `+${m[0]!.toUpperCase()}` : `+${m[0]}`,
    );
    return `${MODEL_VERSION}${trained.join('')}`;
  }

  async status(): Promise<WorkerStatus> {
    const modalities = {} as WorkerStatus['modalities'];
    for (const modality of MODALITIES) {
      modalities[modality] = {
        trained: this.models.has(modality),
        enrolWindows: this.enrolCounts.get(modality) ?? 0,
      };
    }
    return {
      backend: tf.getBackend() ?? this.backend,
      state: this.models.size > 0 ? 'scoring' : 'enrolling',
      progress: this.progress(),
      modelVersion: this.modelVersion(),
      modalities,
    };
  }

  async checkGolden(): Promise<GoldenReply> {
    const check = checkGolden(goldenFile);
    return { ok: check.ok, maxAbsDiff: check.maxAbsDiff };
  }
}
