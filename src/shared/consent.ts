/**
 * Consent to capture. Nothing is captured, learned or sent until the person agreed on the
 * first-run page (src/consent/), or their organisation recorded consent by policy
 * (`organisationConsent`, for managed staff browsers). Withdrawing deletes the record; capture
 * stops at once (background/handlers.ts drops every later batch and tells the page to stop,
 * background/capture-registration.ts unregisters the content script).
 */
import browser from 'webextension-polyfill';
import type { TacitConfig } from './config';

/** `storage.local` key of the person's own consent record. */
export const CONSENT_KEY = 'consent';

/**
 * Version of what the first-run page says. Raise it when the page promises something new (what
 * is captured or sent changes): an older record then no longer counts and the page asks again.
 */
export const CONSENT_TEXT_VERSION = 1;

/** What is stored when the person agrees. */
export interface ConsentRecord {
  textVersion: number;
  /** When they agreed, ms since the epoch. */
  givenAt: number;
}

/** Whether capture may run, and on whose word. */
export type ConsentState =
  | { given: true; by: 'user'; givenAt: number }
  | { given: true; by: 'organisation'; givenAt: null }
  | { given: false; by: null; givenAt: null };

/** Decides from a stored record and the effective config (pure: unit-tested). */
export function consentState(
  record: unknown,
  config: Pick<TacitConfig, 'organisationConsent'>,
): ConsentState {
  if (config.organisationConsent) return { given: true, by: 'organisation', givenAt: null };
  if (typeof record === 'object' && record !== null) {
    const r = record as Partial<ConsentRecord>;
    if (
      r.textVersion === CONSENT_TEXT_VERSION &&
      typeof r.givenAt === 'number' &&
      Number.isFinite(r.givenAt)
    ) {
      return { given: true, by: 'user', givenAt: r.givenAt };
    }
  }
  return { given: false, by: null, givenAt: null };
}

export async function loadConsent(
  config: Pick<TacitConfig, 'organisationConsent'>,
): Promise<ConsentState> {
  const stored = await browser.storage.local.get(CONSENT_KEY);
  return consentState(stored[CONSENT_KEY], config);
}

export async function recordConsent(now: number): Promise<void> {
  const record: ConsentRecord = { textVersion: CONSENT_TEXT_VERSION, givenAt: now };
  await browser.storage.local.set({ [CONSENT_KEY]: record });
}

export async function withdrawConsent(): Promise<void> {
  await browser.storage.local.remove(CONSENT_KEY);
}
