/**
 * The attestation history: what the device said to the server and what it answered, newest
 * last, in `storage.local` (it survives restarts, is shown in the popup and exported). Holds the
 * statements' own contents only (state, confidence, progress), never timings or features. Kept
 * for `retentionDays` and at most `MAX_RECORDS` entries.
 */
import browser from 'webextension-polyfill';
import type { AttestationRecord } from '../shared/protocol';

export const HISTORY_KEY = 'attestations';
/** About 80 minutes of activity at one statement every 5 s; bounded so each write stays small. */
export const MAX_RECORDS = 1000;

export async function attestationHistory(): Promise<AttestationRecord[]> {
  const stored = (await browser.storage.local.get(HISTORY_KEY))[HISTORY_KEY];
  return Array.isArray(stored) ? (stored as AttestationRecord[]) : [];
}

/** Appends one record (callers serialize: SessionService runs one operation at a time). */
export async function recordAttestation(record: AttestationRecord): Promise<void> {
  const history = await attestationHistory();
  history.push(record);
  await browser.storage.local.set({ [HISTORY_KEY]: history.slice(-MAX_RECORDS) });
}

/** Deletes records sent before `cutoff` (ms); returns how many. */
export async function pruneAttestations(cutoff: number): Promise<number> {
  const history = await attestationHistory();
  const kept = history.filter((r) => r.at >= cutoff);
  if (kept.length !== history.length) await browser.storage.local.set({ [HISTORY_KEY]: kept });
  return history.length - kept.length;
}
