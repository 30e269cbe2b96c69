/**
 * How both stores keep a session's signals: one JSON text (a SQLite column, a Redis hash field).
 * The values were checked when their attestation was verified; reading back checks the shape
 * again, so a hand-edited record reads as "no signals" rather than as wrong numbers.
 *
 * @module
 */
import type { SessionSignals } from './store';

const MEMBERS = ['bot', 'remote', 'paste', 'otp', 'syn'] as const;

/** The stored text of `signals` (members in a fixed order). */
export function encodeSignals(signals: SessionSignals): string {
  const { bot, remote, paste, otp, syn } = signals;
  return JSON.stringify({ bot, remote, paste, otp, syn });
}

/** The signals of a stored text; null for none, and for anything that is not their shape. */
export function decodeSignals(text: unknown): SessionSignals | null {
  if (typeof text !== 'string' || text === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  for (const m of MEMBERS) {
    const v = record[m];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return null;
  }
  const { bot, remote, paste, otp, syn } = record as unknown as SessionSignals;
  return { bot, remote, paste, otp, syn };
}
