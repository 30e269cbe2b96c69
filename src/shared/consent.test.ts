import { describe, expect, it, vi } from 'vitest';

vi.mock('webextension-polyfill', () => ({ default: {} }));
const { CONSENT_TEXT_VERSION, consentState } = await import('./consent');

describe('consentState', () => {
  const off = { organisationConsent: false };

  it('is not given without a record of the current text', () => {
    expect(consentState(undefined, off)).toEqual({ given: false, by: null, givenAt: null });
    expect(consentState({ textVersion: CONSENT_TEXT_VERSION - 1, givenAt: 5 }, off).given).toBe(
      false,
    );
    expect(
      consentState({ textVersion: CONSENT_TEXT_VERSION, givenAt: 'yesterday' }, off).given,
    ).toBe(false);
    expect(consentState('yes', off).given).toBe(false);
  });

  it('is the person’s when they agreed to the current text', () => {
    expect(consentState({ textVersion: CONSENT_TEXT_VERSION, givenAt: 5 }, off)).toEqual({
      given: true,
      by: 'user',
      givenAt: 5,
    });
  });

  it('is the organisation’s when policy records it, whatever is stored', () => {
    expect(consentState(undefined, { organisationConsent: true })).toEqual({
      given: true,
      by: 'organisation',
      givenAt: null,
    });
  });
});
