/**
 * Rounds of federated training: open → collect → close.
 *
 * - **Open** (operator): refused when a round is open (`ERR_ROUND_OPEN`) or when one more round
 *   would take the privacy accountant past its budget (`ERR_PRIVACY_BUDGET`). Devices train
 *   from the latest version.
 * - **Collect** (devices): one signed update per device per round. Checked in this order, and
 *   nothing stored unless every check passes: a compact JWS with `alg` ES256, `typ`
 *   `tacit-fl-update+jws` and a `kid` (`ERR_UPDATE_SIGNATURE`); the key enrolled and active at
 *   the verifier (`ERR_UNKNOWN_DEVICE`, `ERR_DEVICE_REVOKED`); the signature by that key
 *   (`ERR_UPDATE_SIGNATURE`); a round open (`ERR_NO_OPEN_ROUND`); the `TFLU` bytes for this
 *   round, this version's encoder and parameter count, within the size limit
 *   (`ERR_UPDATE_ROUND`, `ERR_UPDATE_ENCODER`, `ERR_UPDATE_VERSION`, `ERR_UPDATE_FORMAT`,
 *   `ERR_UPDATE_SIZE`); its norm within the round's bound (`ERR_UPDATE_NORM`); not a second
 *   update of the device in the round (`ERR_UPDATE_REPLAY`).
 * - **Close** (operator): at least m_min distinct devices (`ERR_TOO_FEW_DEVICES`, the round
 *   stays open); the accountant records the round or refuses (`ERR_PRIVACY_BUDGET`: the round
 *   is marked refused, its updates deleted, nothing released); the robust mean of the deltas,
 *   times the server learning rate, added to the base encoder, published as the next version
 *   with the accountant's state and the round's close in one transaction. The updates' bytes
 *   are deleted then.
 *
 * @module
 */
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import { FederatedUpdateError, PrivacyBudgetError } from '../../../model/errors';
import { PrivacyAccountant } from '../../../model/federated/accountant';
import { applyDelta, parameterCount } from '../../../model/federated/parameters';
import { l2Norm } from '../../../model/federated/privatise';
import {
  robustMean,
  updateNormBound,
  type RobustAggregation,
} from '../../../model/federated/robust-aggregate';
import { FEDERATED_ALG, UPDATE_JWS_TYP } from '../../../model/federated/signed';
import { dequantise, parseUpdate } from '../../../model/federated/update-format';
import { AggregatorError, type AggregatorErrorCode } from '../errors';
import type { AggregatorStore, RoundRecord } from '../store/store';
import type { DeviceDirectory } from './device-directory';
import type { VersionService, VersionSummary } from './versions';

/** The round settings (validated by the config). */
export interface RoundSettings {
  minDevices: number;
  clipNorm: number;
  noiseMultiplier: number;
  /** q of the accountant. */
  samplingRate: number;
  serverLearningRate: number;
  aggregation: RobustAggregation;
  maxUpdateBytes: number;
  epsilonBudget: number;
  delta: number;
}

/** A round as devices and the operator see it. */
export interface RoundView {
  round: number;
  status: RoundRecord['status'];
  baseVersion: number;
  /** The encoder id updates must name. */
  encoderId: string;
  parameters: number;
  minDevices: number;
  clipNorm: number;
  noiseMultiplier: number;
  samplingRate: number;
  /** L2 bound of an update (`updateNormBound`). */
  normBound: number;
  /** Updates received so far. */
  received: number;
}

/** What the round service needs. */
export interface RoundDeps {
  store: AggregatorStore;
  versions: VersionService;
  devices: DeviceDirectory;
  settings: RoundSettings;
  now: () => number;
}

const ACCOUNTANT_KEY = 'accountant';

/** Rounds. See the module comment. */
export class RoundService {
  readonly #d: RoundDeps;
  #accountant: PrivacyAccountant;
  /** The round being closed (uploads to it are refused meanwhile). */
  #closing: number | undefined;

  /** @throws {TypeError} when the stored accountant's δ or budget is not the configured one. */
  constructor(deps: RoundDeps) {
    this.#d = deps;
    const stored = deps.store.meta(ACCOUNTANT_KEY);
    const { delta, epsilonBudget } = deps.settings;
    this.#accountant = stored
      ? PrivacyAccountant.fromJSON(JSON.parse(stored))
      : new PrivacyAccountant({ delta, epsilonBudget });
    if (this.#accountant.delta !== delta || this.#accountant.epsilonBudget !== epsilonBudget) {
      throw new TypeError(
        'the stored privacy accountant has another delta or budget than configured',
      );
    }
  }

  /** Cumulated ε so far. */
  get epsilon(): number {
    return this.#accountant.spent.epsilon;
  }

  /** Opens the next round from the latest version. */
  open(): RoundView {
    const s = this.#d.settings;
    if (this.#accountant.wouldExceed(s.samplingRate, s.noiseMultiplier)) {
      throw new AggregatorError('ERR_PRIVACY_BUDGET', { cause: 'at open' });
    }
    const round = this.#d.store.openRound(this.#d.versions.latest().ver, this.#d.now());
    if (!round) throw new AggregatorError('ERR_ROUND_OPEN');
    return this.#view(round);
  }

  /** The open round. */
  current(): RoundView {
    const round = this.#d.store.openRoundRecord();
    if (!round) throw new AggregatorError('ERR_NO_OPEN_ROUND');
    return this.#view(round);
  }

  /** Any round. */
  get(id: number): RoundView {
    const round = this.#d.store.round(id);
    if (!round) throw new AggregatorError('ERR_NOT_FOUND');
    return this.#view(round);
  }

  /** Accepts one signed update (checks in the module comment's order). */
  async upload(jws: string): Promise<{ round: number; received: number }> {
    let kid: string;
    try {
      const header = decodeProtectedHeader(jws);
      if (header.alg !== FEDERATED_ALG || header.typ !== UPDATE_JWS_TYP) throw new Error('header');
      if (typeof header.kid !== 'string') throw new Error('kid');
      kid = header.kid;
    } catch (cause) {
      throw new AggregatorError('ERR_UPDATE_SIGNATURE', { cause });
    }
    const device = await this.#d.devices.lookup(kid);
    if (!device) throw new AggregatorError('ERR_UNKNOWN_DEVICE');
    if (!device.active) throw new AggregatorError('ERR_DEVICE_REVOKED');
    let bytes: Uint8Array;
    try {
      const key = await importJWK({ ...device.jwk }, FEDERATED_ALG);
      ({ payload: bytes } = await compactVerify(jws, key, { algorithms: [FEDERATED_ALG] }));
    } catch (cause) {
      throw new AggregatorError('ERR_UPDATE_SIGNATURE', { cause });
    }
    const round = this.#d.store.openRoundRecord();
    if (!round) throw new AggregatorError('ERR_NO_OPEN_ROUND');
    if (this.#closing === round.id) throw new AggregatorError('ERR_ROUND_STATE');
    const view = this.#view(round);
    let update;
    try {
      update = parseUpdate(bytes, {
        encoderId: view.encoderId,
        round: round.id,
        parameters: view.parameters,
        maxBytes: this.#d.settings.maxUpdateBytes,
      });
    } catch (err) {
      if (err instanceof FederatedUpdateError) {
        throw new AggregatorError(err.code as AggregatorErrorCode, { cause: err.message });
      }
      throw err;
    }
    const bound = updateNormBound({
      ...this.#bounds(),
      parameters: view.parameters,
      chunkSize: update.chunkSize,
    });
    if (l2Norm(dequantise(update)) > bound) throw new AggregatorError('ERR_UPDATE_NORM');
    if (!this.#d.store.insertUpdate(round.id, kid, bytes, this.#d.now())) {
      throw new AggregatorError('ERR_UPDATE_REPLAY');
    }
    return { round: round.id, received: this.#d.store.countUpdates(round.id) };
  }

  /** Closes round `id` and publishes its version (module comment). */
  async close(id: number, evaluation?: Record<string, number>): Promise<VersionSummary> {
    const round = this.#d.store.round(id);
    if (!round) throw new AggregatorError('ERR_NOT_FOUND');
    if (round.status !== 'open' || this.#closing === id) {
      throw new AggregatorError('ERR_ROUND_STATE');
    }
    const s = this.#d.settings;
    const updates = this.#d.store.updates(id);
    if (updates.length < s.minDevices) throw new AggregatorError('ERR_TOO_FEW_DEVICES');
    this.#closing = id;
    try {
      // Spend on a copy: the live accountant changes only once the version is stored.
      const accountant = PrivacyAccountant.fromJSON(this.#accountant.toJSON());
      try {
        accountant.spend(s.samplingRate, s.noiseMultiplier);
      } catch (err) {
        if (!(err instanceof PrivacyBudgetError)) throw err;
        this.#d.store.refuseRound(id, this.#d.now());
        throw new AggregatorError('ERR_PRIVACY_BUDGET', { cause: 'at close' });
      }
      const view = this.#view(round);
      const deltas = updates.map(({ bytes }) =>
        dequantise(
          parseUpdate(bytes, {
            encoderId: view.encoderId,
            round: id,
            parameters: view.parameters,
            maxBytes: s.maxUpdateBytes,
          }),
        ),
      );
      const base = this.#d.versions.encoder(round.baseVersion);
      const encoder = applyDelta(base, robustMean(deltas, s.aggregation), s.serverLearningRate);
      const record = await this.#d.versions.prepare({
        encoder,
        round: id,
        contributors: updates.length,
        epsilon: accountant.spent.epsilon,
        ...(evaluation ? { evaluation } : {}),
      });
      const accountantJson = JSON.stringify(accountant.toJSON());
      this.#d.store.publish(
        {
          version: record,
          round: { id, contributors: updates.length },
          accountant: accountantJson,
        },
        this.#d.now(),
      );
      this.#accountant = accountant;
      return this.#d.versions.list().find((v) => v.ver === record.ver)!;
    } finally {
      this.#closing = undefined;
    }
  }

  /** Rolls back to version `ver` (operator). */
  rollback(ver: number): Promise<VersionSummary> {
    return this.#d.versions.rollback(ver, this.epsilon);
  }

  #bounds() {
    const s = this.#d.settings;
    return { clipNorm: s.clipNorm, noiseMultiplier: s.noiseMultiplier, minDevices: s.minDevices };
  }

  #view(round: RoundRecord): RoundView {
    const s = this.#d.settings;
    const base = this.#d.store.version(round.baseVersion)!;
    const parameters = parameterCount(this.#d.versions.encoder(round.baseVersion));
    return {
      round: round.id,
      status: round.status,
      baseVersion: round.baseVersion,
      encoderId: base.enc,
      parameters,
      minDevices: s.minDevices,
      clipNorm: s.clipNorm,
      noiseMultiplier: s.noiseMultiplier,
      samplingRate: s.samplingRate,
      normBound: updateNormBound({ ...this.#bounds(), parameters }),
      received:
        round.status === 'open' ? this.#d.store.countUpdates(round.id) : (round.contributors ?? 0),
    };
  }
}
