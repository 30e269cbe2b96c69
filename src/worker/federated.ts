/**
 * The worker's side of federated training (docs/federated.md "Client", "In the extension"): one
 * local round with the real client code of model/federated, and the store of the shared encoder
 * the background adopted after verifying its signature. What leaves this module is the `TFLU`
 * bytes of a clipped, noised, quantised delta: never the fine-tuned encoder, never a sequence,
 * never the kept target or its code word.
 */
import { openDB, type DBSchema } from 'idb';
import { FEDERATED_DEFAULTS } from '../../model/federated/config';
import { roundTarget } from '../../model/federated/device-target';
import { localUpdate, type LocalUpdateConfig } from '../../model/federated/local-update';
import { parameterCount } from '../../model/federated/parameters';
import { privatiseDelta, rngFromRandomValues } from '../../model/federated/privatise';
import { type PublicCentres, publicCentresFromJSON } from '../../model/federated/public-centres';
import { quantise, serialiseUpdate } from '../../model/federated/update-format';
import { encoderId } from '../../model/shared/embedding-model';
import { type SharedEncoder, embeddingDimension } from '../../model/shared/encoder';
import type { StepSequence } from '../../model/shared/train';
import keystrokeCentresFile from '../../model/shared/default-keystroke-centres.json';
import type { FederatedRoundSpec, FederatedSkipCode } from '../shared/protocol';

/**
 * The public centres of `encoder`: `adopted`, the centres that came signed with the adopted
 * version (the aggregator serves each version's own), or, without them, the file shipped beside
 * the shipped keystroke encoder (model/shared/README.md), which only that encoder accepts.
 * `undefined` when neither belongs to `encoder` (its id and dimension): its `frozen-centres`
 * rounds are skipped (`ERR_FL_NO_CENTRES`); the shipped `positive-only` pull reads none.
 */
export function publicCentresFor(
  encoder: SharedEncoder,
  adopted: string | null = null,
): PublicCentres | undefined {
  try {
    return publicCentresFromJSON(adopted ?? keystrokeCentresFile, {
      encoderId: encoderId(encoder),
      dimension: embeddingDimension(encoder),
    });
  } catch {
    return undefined;
  }
}

/** What a local round may be given besides the round itself. */
export interface LocalRoundOptions {
  /** The adopted version's public centres (JSON text); null or absent: the shipped file's. */
  centres?: string | null;
  /**
   * The target this device keeps for the subject (the model store's), if it made one in an
   * earlier round; absent: one is made now (`roundTarget`) and returned to be kept.
   */
  target?: Float32Array;
  /** Clock for the round's duration, ms; default `performance.now`. */
  now?: () => number;
  /** Overrides of `FEDERATED_DEFAULTS.localUpdate`: tests and the benchmark only. */
  training?: Partial<LocalUpdateConfig>;
}

/** What a round computed, or why it did not. */
export type LocalRoundResult =
  | {
      ok: true;
      bytes: Uint8Array;
      ms: number;
      /**
       * A target made in this round (the device's first for this subject): the caller must keep
       * it before the bytes leave, and pass it to every later round. Absent when the round used
       * the kept one, or when the settings keep none.
       */
      newTarget?: Float32Array;
    }
  | { ok: false; code: FederatedSkipCode };

/**
 * One local round (docs/federated.md "One device's round"): the subject's target
 * (`roundTarget`: the kept `options.target`, or one made now under `encoder` with its code word
 * drawn from `randomValues`), `localUpdate` on `sequences` towards it, then `privatiseDelta`
 * (clip to the round's C, device share of its noise) and stochastic int8 quantisation, all
 * randomness from `randomValues` (the worker passes `crypto.getRandomValues`), serialised for
 * exactly `spec`'s encoder and round. The `frozen-centres` objective trains against the public
 * centres of `encoder` ({@link publicCentresFor}: the adopted version's, `options.centres`);
 * the shipped `positive-only` pull reads none. Training settings: `FEDERATED_DEFAULTS`
 * (`options.training` overrides the local round's for tests and the benchmark only).
 */
export async function runLocalRound(
  encoder: SharedEncoder,
  sequences: readonly StepSequence[],
  spec: FederatedRoundSpec,
  randomValues: (words: Uint32Array) => Uint32Array,
  options: LocalRoundOptions = {},
): Promise<LocalRoundResult> {
  const now = options.now ?? (() => performance.now());
  const training = { ...FEDERATED_DEFAULTS.localUpdate, ...options.training };
  if (encoderId(encoder) !== spec.encoderId || parameterCount(encoder) !== spec.parameters) {
    return { ok: false, code: 'ERR_FL_ENCODER' };
  }
  const centres =
    training.objective === 'frozen-centres'
      ? publicCentresFor(encoder, options.centres ?? null)
      : // The loss reads no public centre: an empty set, of the encoder's own id and dimension.
        { encoderId: encoderId(encoder), dimension: embeddingDimension(encoder), centres: [] };
  if (centres === undefined) return { ok: false, code: 'ERR_FL_NO_CENTRES' };
  if (!sequences.some((s) => s.n >= 2)) return { ok: false, code: 'ERR_FL_NO_DATA' };
  const started = now();
  const rng = rngFromRandomValues(randomValues);
  const { target, created } = roundTarget(
    options.target,
    encoder,
    sequences,
    FEDERATED_DEFAULTS,
    rng,
  );
  const { delta } = await localUpdate(
    encoder,
    sequences,
    centres,
    training,
    rng,
    target === undefined ? {} : { ownCentre: target },
  );
  const noised = privatiseDelta(
    delta,
    { clipNorm: spec.clipNorm, noiseMultiplier: spec.noiseMultiplier, minDevices: spec.minDevices },
    rng,
  );
  const bytes = serialiseUpdate(
    quantise(noised, { encoderId: spec.encoderId, round: spec.round }, rng),
  );
  return {
    ok: true,
    bytes,
    ms: now() - started,
    ...(created && target !== undefined ? { newTarget: target } : {}),
  };
}

/**
 * The adopted encoder as stored: its version number, JSON text and public centres' JSON text
 * (both verified before). `centres` is null for a record adopted before versions carried
 * centres (format 1, migrated): that encoder still scores and trains with the shipped
 * `positive-only` pull; `frozen-centres` rounds are skipped with `ERR_FL_NO_CENTRES` until the
 * next version is adopted with its centres.
 */
export interface AdoptedEncoder {
  version: 2;
  ver: number;
  text: string;
  centres: string | null;
  adoptedAt: number;
}

interface AdoptedDb extends DBSchema {
  encoders: { key: string; value: AdoptedEncoder };
}

/** IndexedDB database of adopted encoders (public weights: not sealed, kept by "erase all"). */
export const ADOPTED_DB_NAME = 'tacit-federated';

/** Where the worker keeps the encoder it adopted, one per modality. */
export class AdoptedEncoderStore {
  constructor(private readonly name: string = ADOPTED_DB_NAME) {}

  private open() {
    return openDB<AdoptedDb>(this.name, 2, {
      async upgrade(db, oldVersion, _newVersion, tx) {
        // Numbered migrations: add a case per version.
        if (oldVersion < 1) db.createObjectStore('encoders');
        if (oldVersion < 2) {
          // 2: records carry the version's public centres. One adopted before has none (the
          // aggregator did not serve them): kept, with `centres: null` (see AdoptedEncoder).
          const store = tx.objectStore('encoders');
          for (let c = await store.openCursor(); c !== null; c = await c.continue()) {
            const old = c.value as unknown as Omit<AdoptedEncoder, 'version' | 'centres'> & {
              version: number;
            };
            if (old.version === 1) await c.update({ ...old, version: 2, centres: null });
          }
        }
      },
    });
  }

  async load(modality: string): Promise<AdoptedEncoder | undefined> {
    const db = await this.open();
    try {
      const record = await db.get('encoders', modality);
      return record?.version === 2 ? record : undefined;
    } finally {
      db.close();
    }
  }

  async save(modality: string, ver: number, text: string, centres: string): Promise<void> {
    const db = await this.open();
    try {
      await db.put('encoders', { version: 2, ver, text, centres, adoptedAt: Date.now() }, modality);
    } finally {
      db.close();
    }
  }
}
