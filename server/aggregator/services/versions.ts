/**
 * Model versions: the initial one (the shipped encoder, as configured), one per closed round,
 * and rollbacks. Every version is a new, monotonic number with its own encoder id and a
 * `tacit-model+jwt` signed by the aggregator over the SHA-256 of the encoder's JSON text and of
 * its public centres' JSON text (`model/federated/signed.ts`), so a device never moves
 * backwards to an older number: a rollback republishes an earlier version's weights under the
 * next number (`rollbackOf`).
 *
 * **Public centres.** Every version carries the centres of the public users
 * (`TACIT_FL_PUBLIC_DATA`) under its own encoder (`computePublicCentres`, with the version's
 * encoder id): the frozen negatives of a device's local round (docs/federated.md
 * "Positive-only remedy"). A device can train a version only with that version's centres, so
 * they are computed when the version is signed, stored beside the encoder, served with it and
 * signed with it (`centresDigest`).
 *
 * @module
 */
import { decodeJwt } from 'jose';
import { encoderId } from '../../../model/shared/embedding-model';
import { encoderFromJSON, encoderToJSON, type SharedEncoder } from '../../../model/shared/encoder';
import { computePublicCentres, publicCentresToJSON } from '../../../model/federated/public-centres';
import {
  encoderDigest,
  type ModelVersionClaims,
  type SignedModelVersion,
} from '../../../model/federated/signed';
import type { TrainingUser } from '../../../model/shared/train';
import { AggregatorError } from '../errors';
import type { AggregatorStore, VersionRecord } from '../store/store';
import type { AggregatorKey } from './signing-key';

/** A version as listed (no encoder, no token). */
export interface VersionSummary {
  ver: number;
  round: number | null;
  encoderId: string;
  contributors: number;
  epsilon: number;
  evaluation: Record<string, number> | null;
  rollbackOf: number | null;
  createdAt: string;
  current: boolean;
}

/** What a new version states. */
export interface NewVersion {
  encoder: SharedEncoder;
  round: number | null;
  contributors: number;
  /** Cumulated ε after this version's round. */
  epsilon: number;
  evaluation?: Record<string, number>;
  rollbackOf?: number;
}

/** What the version service needs. */
export interface VersionDeps {
  store: AggregatorStore;
  key: AggregatorKey;
  issuer: string;
  /** δ of the accountant (stated in every version). */
  delta: number;
  /** The public users whose centres every version carries (`TACIT_FL_PUBLIC_DATA`). */
  publicUsers: readonly TrainingUser[];
  now: () => number;
}

/** The task name of a published version: the base task, `+fl<ver>` (unique encoder ids). */
const versionTask = (task: string, ver: number) => `${task.replace(/\+fl\d+$/, '')}+fl${ver}`;

/** Publishing, listing and rolling back versions. See the module comment. */
export class VersionService {
  readonly #d: VersionDeps;
  readonly #encoders = new Map<number, SharedEncoder>();

  constructor(deps: VersionDeps) {
    this.#d = deps;
  }

  /**
   * Publishes `encoderText` as version 1 when there is no version yet.
   *
   * @throws {TypeError} when there is none and no initial encoder is configured or it does not
   *   load (a misconfiguration).
   */
  async ensureInitial(encoderText: string | undefined): Promise<void> {
    if (this.#d.store.latestVersion()) return;
    if (encoderText === undefined) {
      throw new TypeError('no model version yet: TACIT_FL_INITIAL_ENCODER is required');
    }
    let encoder: SharedEncoder;
    try {
      encoder = encoderFromJSON(encoderText);
    } catch (cause) {
      throw new TypeError('TACIT_FL_INITIAL_ENCODER is not a shared encoder', { cause });
    }
    const record = await this.#sign(1, encoderText, encoder, {
      encoder,
      round: null,
      contributors: 0,
      epsilon: 0,
    });
    this.#d.store.publish({ version: record }, this.#d.now());
  }

  /**
   * Gives every stored version without centres (published before the store had them) its
   * centres and a token re-signed with the same claims plus `centresDigest`: same `ver`, same
   * `iat`, so nothing is left that a device could not train on.
   */
  async ensureCentres(): Promise<number> {
    let filled = 0;
    for (const v of this.#d.store.versions()) {
      if (v.centres !== null) continue;
      const centres = this.#centresText(this.encoder(v.ver), v.enc);
      // Our own token, read from our own store: its claims are re-signed, not trusted input.
      const claims = decodeJwt(v.token) as unknown as ModelVersionClaims;
      const token = await this.#d.key.sign({
        ...claims,
        centresDigest: await encoderDigest(centres),
      });
      this.#d.store.setVersionCentres(v.ver, centres, token);
      filled++;
    }
    return filled;
  }

  /** The latest version (there always is one after {@link ensureInitial}). */
  latest(): VersionRecord {
    const v = this.#d.store.latestVersion();
    if (!v) throw new AggregatorError('ERR_NOT_FOUND', { cause: 'no version' });
    return v;
  }

  /** The encoder of version `ver`, parsed once. */
  encoder(ver: number): SharedEncoder {
    let e = this.#encoders.get(ver);
    if (!e) {
      const v = this.#d.store.version(ver);
      if (!v) throw new AggregatorError('ERR_NOT_FOUND', { cause: `no version ${ver}` });
      e = encoderFromJSON(v.encoder);
      this.#encoders.set(ver, e);
    }
    return e;
  }

  list(): VersionSummary[] {
    const all = this.#d.store.versions();
    const current = all.at(-1)?.ver;
    return all.map((v) => summary(v, v.ver === current));
  }

  /** Version `ver` as served: token, encoder text and centres text. */
  get(ver: number): SignedModelVersion {
    const v = this.#d.store.version(ver);
    if (!v) throw new AggregatorError('ERR_NOT_FOUND', { cause: `no version ${ver}` });
    return served(v);
  }

  current(): SignedModelVersion {
    return served(this.latest());
  }

  /**
   * Builds and signs the next version (not stored: the caller publishes it, with its round and
   * the accountant, in one transaction).
   */
  async prepare(input: NewVersion): Promise<VersionRecord> {
    const ver = this.latest().ver + 1;
    const { backEnd: _stale, ...rest } = input.encoder;
    // A back-end fitted to the old embeddings would not fit the new ones: dropped (the
    // publisher may re-fit one; the shipped encoders have none).
    const encoder: SharedEncoder = {
      ...rest,
      provenance: {
        ...rest.provenance,
        task: versionTask(rest.provenance.task, ver),
        trainedAt: new Date(this.#d.now()).toISOString().slice(0, 10),
        notes:
          input.rollbackOf !== undefined
            ? `rollback to version ${input.rollbackOf}`
            : `federated round ${input.round}, ${input.contributors} devices`,
      },
    };
    return this.#sign(ver, JSON.stringify(encoderToJSON(encoder)), encoder, input);
  }

  /** Publishes a prepared version that closes no round (rollback). */
  publish(record: VersionRecord): VersionSummary {
    this.#d.store.publish({ version: record }, this.#d.now());
    return summary(record, true);
  }

  /** Republishes version `ver`'s weights as the next version. */
  async rollback(ver: number, epsilon: number): Promise<VersionSummary> {
    const encoder = this.encoder(ver);
    return this.publish(
      await this.prepare({ encoder, round: null, contributors: 0, epsilon, rollbackOf: ver }),
    );
  }

  async #sign(
    ver: number,
    text: string,
    encoder: SharedEncoder,
    input: NewVersion,
  ): Promise<VersionRecord> {
    const createdAt = this.#d.now();
    const enc = encoderId(encoder);
    const centres = this.#centresText(encoder, enc);
    const token = await this.#d.key.sign({
      iss: this.#d.issuer,
      iat: Math.floor(createdAt / 1000),
      ver,
      enc,
      digest: await encoderDigest(text),
      centresDigest: await encoderDigest(centres),
      round: input.round,
      contributors: input.contributors,
      privacy: { epsilon: input.epsilon, delta: this.#d.delta },
      ...(input.evaluation ? { evaluation: input.evaluation } : {}),
      ...(input.rollbackOf !== undefined ? { rollbackOf: input.rollbackOf } : {}),
    });
    this.#encoders.set(ver, encoder);
    return {
      ver,
      round: input.round,
      enc,
      encoder: text,
      centres,
      token,
      createdAt,
      rollbackOf: input.rollbackOf ?? null,
      contributors: input.contributors,
      epsilon: input.epsilon,
      evaluation: input.evaluation ?? null,
    };
  }

  /** The public centres' JSON text under `encoder`, named for the version's encoder id. */
  #centresText(encoder: SharedEncoder, enc: string): string {
    return JSON.stringify(
      publicCentresToJSON(computePublicCentres(encoder, this.#d.publicUsers, enc)),
    );
  }
}

function served(v: VersionRecord): SignedModelVersion {
  // ensureCentres runs at start, before the routes: a version without centres is a bug.
  if (v.centres === null) throw new Error(`version ${v.ver} has no public centres`);
  return { token: v.token, encoder: v.encoder, centres: v.centres };
}

function summary(v: VersionRecord, current: boolean): VersionSummary {
  return {
    ver: v.ver,
    round: v.round,
    encoderId: v.enc,
    contributors: v.contributors,
    epsilon: v.epsilon,
    evaluation: v.evaluation,
    rollbackOf: v.rollbackOf,
    createdAt: new Date(v.createdAt).toISOString(),
    current,
  };
}
