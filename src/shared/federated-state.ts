/**
 * What the background's federated check remembers (background/federated.ts writes it to
 * `storage.local`, the options page shows it): version numbers, round ids, sizes, times and
 * error codes. No behavior data, no weights.
 */
import type { TacitConfig } from './config';

/** `storage.local` key of {@link FederatedState} (read by the options page). */
export const FEDERATED_STATE_KEY = 'federated';

/** Stable codes of a federated check's failures, shown in the options page and logged alone. */
export type FederatedErrorCode =
  /** `aggregatorUrl` without `aggregatorJwks`: nothing can be verified, nothing is adopted. */
  | 'ERR_FL_CONFIG'
  /** The aggregator did not answer, or answered something unexpected. */
  | 'ERR_FL_NETWORK'
  /** A model version refused (signature, claims, digest, downgrade): `verifyModelVersion`. */
  | 'ERR_MODEL_SIGNATURE'
  | 'ERR_MODEL_CLAIMS'
  | 'ERR_MODEL_DIGEST'
  | 'ERR_MODEL_DOWNGRADE'
  /** A signed version whose public centres do not belong to its encoder: nothing adopted. */
  | 'ERR_MODEL_CENTRES'
  /**
   * A signed version whose encoder does not load, or is not the one its `enc` claim names:
   * nothing adopted.
   */
  | 'ERR_MODEL_ENCODER'
  /**
   * A version served without public centres (an aggregator older than the contract): a
   * contract violation, not a network failure; nothing verified, nothing adopted.
   */
  | 'ERR_MODEL_NO_CENTRES'
  /** The round's parameters are not ones this device will compute for. */
  | 'ERR_FL_ROUND'
  /** The worker computed no update (its code says why). */
  | 'ERR_FL_ENCODER'
  | 'ERR_FL_NO_CENTRES'
  | 'ERR_FL_NO_DATA'
  /** The aggregator refused the upload (its own code is kept beside). */
  | 'ERR_FL_UPLOAD';

/** What the background remembers between checks (no behavior data, no weights). */
export interface FederatedState {
  version: 1;
  /** The model version adopted, or null (the shipped encoder). */
  adoptedVersion: number | null;
  /** Rounds an update was sent for (at most once each), newest last. */
  sentRounds: number[];
  /** The last upload: round, size, how long the worker's local round took (ms) and when. */
  lastUpload: { round: number; bytes: number; ms: number; at: number } | null;
  /** The last failure, by code only. */
  lastError: { code: FederatedErrorCode; serverCode?: string; at: number } | null;
}

export const EMPTY_FEDERATED_STATE: FederatedState = {
  version: 1,
  adoptedVersion: null,
  sentRounds: [],
  lastUpload: null,
  lastError: null,
};

/** One line for the options page: what the setting does now, truthfully. */
export function federatedStatusText(
  config: Pick<TacitConfig, 'modelImprovement' | 'aggregatorUrl'>,
  state: FederatedState | undefined,
): string {
  const s = state ?? EMPTY_FEDERATED_STATE;
  const parts: string[] = [];
  if (config.aggregatorUrl === null) {
    parts.push('No training server is configured: nothing is sent, whatever this setting says.');
  } else if (!config.modelImprovement) {
    parts.push('Off: no update is computed or sent.');
  } else {
    parts.push(`On: updates go to ${config.aggregatorUrl}.`);
  }
  if (s.adoptedVersion !== null) parts.push(`Shared model version ${s.adoptedVersion} in use.`);
  if (s.lastUpload !== null) {
    parts.push(
      `Last update: round ${s.lastUpload.round}, ${s.lastUpload.bytes} bytes, ${new Date(s.lastUpload.at).toLocaleString()}.`,
    );
  }
  if (s.lastError !== null) {
    parts.push(
      `Last problem: ${s.lastError.code}${s.lastError.serverCode ? ` (${s.lastError.serverCode})` : ''}, ${new Date(s.lastError.at).toLocaleString()}.`,
    );
  }
  return parts.join(' ');
}
