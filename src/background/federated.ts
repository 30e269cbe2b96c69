/**
 * The federated client's background side (docs/federated.md "In the extension"), run by an
 * alarm: adopt a newer model version only after its signature verifies against the pinned
 * aggregator keys, and — only with the "help improve the model" setting on — take part in the
 * open round once: the worker computes the update, the device key signs it, it is uploaded.
 *
 * It talks to the configured aggregator only, never to a URL from a message or a page, and it
 * persists the round it sent before sending, so a restart never sends a second update for it.
 */
import type { JSONWebKeySet } from 'jose';
import { SignedModelError } from '../../model/errors';
import { base64url } from 'jose';
import {
  signUpdate,
  verifyModelVersion,
  type DeviceSigningKey,
} from '../../model/federated/signed';
import type { TacitConfig } from '../shared/config';
import {
  EMPTY_FEDERATED_STATE,
  type FederatedErrorCode,
  type FederatedState,
} from '../shared/federated-state';
import type { FederatedRoundSpec } from '../shared/protocol';
// Wire types from the aggregator's contract (type-only: no server code in the extension).
import type { roundView, signedVersion } from '../../server/aggregator/http/contract';
import type { z } from 'zod';
import type { ModelHost } from './model-host';

/** The alarm that runs a federated check, and its period. */
export const FEDERATED_ALARM = 'tacit-federated';
export const FEDERATED_PERIOD_MINUTES = 60;
/** Rounds remembered as sent (ids grow; older ones can never be open again). */
const SENT_KEPT = 32;
/** What a check did (tests and the log). */
export type FederatedOutcome =
  | 'no-aggregator'
  | 'adopted'
  | 'consent-off'
  | 'no-open-round'
  | 'already-sent'
  | 'uploaded'
  | 'failed';

export interface FederatedDeps {
  config(): Promise<TacitConfig>;
  host(): ModelHost;
  /** The device key's signing half (device-key.ts). */
  signingKey(): Promise<DeviceSigningKey>;
  state: {
    get(): Promise<FederatedState>;
    set(state: FederatedState): Promise<void>;
  };
  fetch?: typeof fetch;
  now?: () => number;
}

type RoundView = z.infer<typeof roundView>;
type SignedVersion = z.infer<typeof signedVersion>;

class FederatedFailure extends Error {
  constructor(
    readonly code: FederatedErrorCode,
    readonly serverCode?: string,
  ) {
    super(code);
    this.name = 'FederatedFailure';
  }
}

async function getJson<T>(
  f: typeof fetch,
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; json: T | null }> {
  let response: Response;
  try {
    response = await f(url, { ...init, credentials: 'omit', cache: 'no-store' });
  } catch {
    throw new FederatedFailure('ERR_FL_NETWORK');
  }
  const json = (await response.json().catch(() => null)) as T | null;
  return { status: response.status, json };
}

const serverCode = (json: unknown): string | undefined => {
  const code = (json as { error?: { code?: unknown } } | null)?.error?.code;
  return typeof code === 'string' && /^ERR_[A-Z_]{1,40}$/.test(code) ? code : undefined;
};

/** A 200 answer of `GET /v1/models/*` in the contract's shape (protocol §7). */
const isSignedVersion = (v: unknown): v is SignedVersion =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as SignedVersion).token === 'string' &&
  typeof (v as SignedVersion).encoder === 'string' &&
  typeof (v as SignedVersion).centres === 'string';

/**
 * A version as an aggregator from before protocol §7's `centres` serves it: token and encoder,
 * no centres. Not a network failure but a contract the device cannot train or verify against
 * (the token carries no `centresDigest` either): refused by its own code.
 */
const lacksCentres = (v: unknown): boolean =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as SignedVersion).token === 'string' &&
  typeof (v as SignedVersion).encoder === 'string' &&
  !Object.hasOwn(v, 'centres');

const isCount = (v: unknown, min: number) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const isPositive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** The round as the worker takes it, only when every field is sane (else `ERR_FL_ROUND`). */
function roundSpec(r: RoundView | null): FederatedRoundSpec {
  if (
    r === null ||
    r.status !== 'open' ||
    !isCount(r.round, 1) ||
    typeof r.encoderId !== 'string' ||
    !isCount(r.parameters, 1) ||
    !isPositive(r.clipNorm) ||
    !(typeof r.noiseMultiplier === 'number' && r.noiseMultiplier >= 0) ||
    !isCount(r.minDevices, 1)
  ) {
    throw new FederatedFailure('ERR_FL_ROUND');
  }
  return {
    round: r.round,
    encoderId: r.encoderId,
    parameters: r.parameters,
    clipNorm: r.clipNorm,
    noiseMultiplier: r.noiseMultiplier,
    minDevices: r.minDevices,
  };
}

/**
 * The latest model version: verified against the pinned keys (no downgrade below the adopted
 * one; encoder and public centres both the signed ones), then adopted by the worker, which
 * checks the encoder against the signed `enc` claim and the centres against the encoder, keeps
 * them for its local rounds and rebuilds the per-user models. A version without centres (an
 * aggregator older than the contract) is refused (`ERR_MODEL_NO_CENTRES`). Returns the version
 * the device now uses.
 */
async function syncVersion(
  deps: FederatedDeps,
  f: typeof fetch,
  base: string,
  jwks: JSONWebKeySet,
  state: FederatedState,
): Promise<number | null> {
  const { status, json } = await getJson<unknown>(f, `${base}/v1/models/current`);
  if (status === 200 && lacksCentres(json)) throw new FederatedFailure('ERR_MODEL_NO_CENTRES');
  if (status !== 200 || !isSignedVersion(json)) throw new FederatedFailure('ERR_FL_NETWORK');
  let ver: number;
  let enc: string;
  try {
    ({ ver, enc } = await verifyModelVersion(json, jwks, {
      issuer: base,
      minVersion: state.adoptedVersion ?? 1,
    }));
  } catch (error) {
    if (error instanceof SignedModelError) {
      throw new FederatedFailure(error.code as FederatedErrorCode);
    }
    throw error;
  }
  if (ver === state.adoptedVersion) return ver;
  // The worker checks that the encoder it loads is the one `enc` names (ERR_MODEL_ENCODER).
  const adopted = await deps.host().adoptEncoder(json.encoder, ver, enc, json.centres);
  if (!adopted.ok) throw new FederatedFailure(adopted.code);
  state.adoptedVersion = ver;
  await deps.state.set(state);
  return ver;
}

/**
 * One federated check (module description). Never throws: a failure is recorded by its code
 * (and logged without data); a consent-off check sends nothing and computes nothing.
 */
export async function federatedCheck(deps: FederatedDeps): Promise<FederatedOutcome> {
  const f = deps.fetch ?? fetch;
  const now = deps.now ?? Date.now;
  const config = await deps.config();
  const base = config.aggregatorUrl;
  if (base === null) return 'no-aggregator';
  const state = { ...EMPTY_FEDERATED_STATE, ...(await deps.state.get()) };
  const fail = async (error: unknown): Promise<FederatedOutcome> => {
    if (!(error instanceof FederatedFailure)) throw error;
    state.lastError = {
      code: error.code,
      ...(error.serverCode === undefined ? {} : { serverCode: error.serverCode }),
      at: now(),
    };
    await deps.state.set(state);
    console.warn('[tacit] federated check:', error.code, error.serverCode ?? '');
    return 'failed';
  };
  try {
    if (config.aggregatorJwks === null) throw new FederatedFailure('ERR_FL_CONFIG');
    const before = state.adoptedVersion;
    const adopted = await syncVersion(deps, f, base, config.aggregatorJwks, state);
    // Without the user's (or the organisation's) yes, nothing is computed and nothing is sent.
    if (!config.modelImprovement) return adopted !== before ? 'adopted' : 'consent-off';

    const { status, json } = await getJson<RoundView & { error?: unknown }>(
      f,
      `${base}/v1/rounds/current`,
    );
    if (serverCode(json) === 'ERR_NO_OPEN_ROUND') return 'no-open-round';
    if (status !== 200) throw new FederatedFailure('ERR_FL_NETWORK', serverCode(json));
    const spec = roundSpec(json);
    if (state.sentRounds.includes(spec.round)) return 'already-sent';
    // A round trains the version it was opened from: wait until this device adopted it.
    if (json!.baseVersion !== adopted) throw new FederatedFailure('ERR_FL_ENCODER');

    const reply = await deps.host().federatedUpdate(spec);
    if (!reply.ok) throw new FederatedFailure(reply.code);
    const jws = await signUpdate(base64url.decode(reply.update), await deps.signingKey());
    // At most once per round: recorded before it is sent (a crash mid-send never resends).
    state.sentRounds = [...state.sentRounds, spec.round].slice(-SENT_KEPT);
    await deps.state.set(state);
    const sent = await getJson<unknown>(f, `${base}/v1/updates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ update: jws }),
    });
    if (sent.status !== 201) throw new FederatedFailure('ERR_FL_UPLOAD', serverCode(sent.json));
    state.lastUpload = { round: spec.round, bytes: reply.bytes, ms: reply.ms, at: now() };
    state.lastError = null;
    await deps.state.set(state);
    return 'uploaded';
  } catch (error) {
    return fail(error);
  }
}
