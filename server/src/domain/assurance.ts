/**
 * Session assurance (docs/protocol.md §5 "Assurance"): pure functions of stored session state
 * and an injected `now`. Nothing here reads a clock or a store, so it is computed at read time
 * and tests can pin every value.
 *
 * @module
 */

/** Constants of the assurance model. */
export const ASSURANCE = {
  /**
   * Weight of the newest `conf`: 1, the device's decision as stated. The device's confidence
   * is already the state of its sequential decision (model/product/decision.ts: evidence
   * accumulated over windows, below 0.5 exactly when it decided the person changed); smoothing
   * it again here would only delay the bank's step-up by attestations.
   */
  alpha: 1,
  /** No decay for this long after the last accepted attestation (ms). */
  graceMs: 30_000,
  /** Decay time constant after the grace period (ms). */
  tauMs: 60_000,
  /** Lowest assurance of level `high`. */
  high: 0.8,
  /** Lowest assurance of level `medium`. */
  medium: 0.5,
  /** Reported assurance is rounded to this many decimals (and levels use the rounded value). */
  decimals: 4,
  /**
   * Assurance of a session right after its relying party confirmed it with a strong factor
   * (docs/protocol.md §5 "Confirmation"): what a device with no evidence against its user
   * states (σ(3) ≈ 0.95, model/product/decision.ts). It holds, decaying like an attestation's,
   * until the next accepted attestation, which comes from a device that has reset its decision.
   */
  confirmed: 0.95,
} as const;

/** What an attestation says about the model on the device. */
export type AttestationState = 'enrolling' | 'scoring';

/** Assurance level of a session. */
export type AssuranceLevel = 'none' | 'enrolling' | 'high' | 'medium' | 'low';

/** The stored state assurance is computed from. */
export interface AssuranceState {
  /** Accepted attestations in the session. */
  attestations: number;
  /** EWMA of the `conf` of accepted `scoring` attestations, null before the first one. */
  ewma: number | null;
  /** `state` of the last accepted attestation, null before the first one. */
  lastState: AttestationState | null;
  /** Server time the last attestation was accepted (ms), null before the first one. */
  lastAttestationAt: number | null;
  /** Server time of the last strong-factor confirmation (ms); null or absent before any. */
  confirmedAt?: number | null;
}

/** Assurance as reported to relying parties. */
export interface Assessment {
  /** Decayed EWMA in [0, 1]; null when there is nothing to report (none, enrolling). */
  assurance: number | null;
  level: AssuranceLevel;
  /** `state` of the last attestation, null before the first one. */
  state: AttestationState | null;
}

/** The EWMA after folding in `conf`; the first value is `conf` itself. */
export function nextEwma(previous: number | null, conf: number): number {
  return previous === null ? conf : ASSURANCE.alpha * conf + (1 - ASSURANCE.alpha) * previous;
}

/**
 * `value` decayed for an attestation gap of `ageMs`: unchanged during the grace period, then
 * multiplied by `exp(-(age - grace) / tau)`. A negative age (clock step back) counts as 0.
 */
export function decay(value: number, ageMs: number): number {
  const over = Math.max(0, ageMs - ASSURANCE.graceMs);
  return over === 0 ? value : value * Math.exp(-over / ASSURANCE.tauMs);
}

/** Level of an assurance value (rounded as reported). */
export function levelOf(assurance: number): 'high' | 'medium' | 'low' {
  if (assurance >= ASSURANCE.high) return 'high';
  if (assurance >= ASSURANCE.medium) return 'medium';
  return 'low';
}

const round = (v: number) => {
  const f = 10 ** ASSURANCE.decimals;
  return Math.round(v * f) / f;
};

/**
 * Whether the session's latest evidence is a strong-factor confirmation: confirmed, and no
 * attestation accepted since (one accepted in the same millisecond counts as before it).
 */
export function confirmedLast(
  state: Pick<AssuranceState, 'confirmedAt' | 'lastAttestationAt'>,
): boolean {
  const at = state.confirmedAt ?? null;
  return at !== null && (state.lastAttestationAt === null || at >= state.lastAttestationAt);
}

/**
 * Assurance of a session at `now` (ms). Right after a strong-factor confirmation, and until the
 * next accepted attestation, it is {@link ASSURANCE.confirmed} decayed from the confirmation. `enrolling` while the last attestation says the model is
 * still learning, even if earlier ones scored: a relearning model vouches for nobody.
 */
export function assess(state: AssuranceState, now: number): Assessment {
  if (confirmedLast(state)) {
    const assurance = round(decay(ASSURANCE.confirmed, now - state.confirmedAt!));
    return { assurance, level: levelOf(assurance), state: state.lastState };
  }
  if (state.attestations === 0 || state.lastState === null || state.lastAttestationAt === null) {
    return { assurance: null, level: 'none', state: null };
  }
  if (state.lastState === 'enrolling' || state.ewma === null) {
    return { assurance: null, level: 'enrolling', state: state.lastState };
  }
  // Rounded first so a value like 0.7999999999999999 reads, and levels, as 0.8.
  const assurance = round(decay(state.ewma, now - state.lastAttestationAt));
  return { assurance, level: levelOf(assurance), state: state.lastState };
}
