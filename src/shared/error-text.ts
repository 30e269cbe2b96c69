/**
 * Every error the extension shows, as a sentence that says what happened and what to do. One
 * table: the popup and the options page look codes up here and never show a raw code alone
 * (the code follows in the details, for support). Codes come as `ERR_X` (the extension's own,
 * shared/errors.ts) or `ERR_SERVER/ERR_Y` (the server's stable code, docs/protocol.md §5).
 */

const SENTENCES: Record<string, string> = {
  // The extension's own codes.
  ERR_CONFIG: 'A setting is invalid. Open the settings and correct the server or the sites.',
  ERR_NETWORK:
    'The verification server could not be reached. Check your connection; Tacit retries by itself.',
  ERR_NOT_ENROLLED:
    'This device is not enrolled yet. Ask your bank to enrol it (Enroll this device in online banking).',
  ERR_MODEL:
    'The on-device model could not start or did not answer. Tacit retries by itself; if this stays, restart the browser.',
  ERR_SENDER: 'A request came from a page Tacit does not trust and was ignored. Nothing to do.',
  ERR_INTERNAL: 'Something went wrong inside Tacit. Try again; if this stays, restart the browser.',
  ERR_SERVER: 'The verification server refused the request. Try again later.',
  // The server's codes.
  ERR_ENROLLMENT_CODE:
    'The enrolment code is not valid any more. Ask your bank for a new one and enrol again.',
  ERR_DEVICE_REVOKED:
    'Your bank has revoked this device. Enrol it again from online banking if you still want Tacit.',
  ERR_DEVICE_ENROLLED_ELSEWHERE:
    'This device is already enrolled for another person at this bank, and the bank does not allow sharing it.',
  ERR_UNKNOWN_DEVICE: 'The server does not know this device. Enrol it again from online banking.',
  ERR_UNKNOWN_SESSION: 'The bank session is over. Log in to online banking again.',
  ERR_SESSION_EXPIRED: 'The bank session has expired. Log in to online banking again.',
  ERR_SESSION_TERMINATED: 'The bank ended this session. Log in to online banking again.',
  ERR_SESSION_BOUND: 'This bank session belongs to another device. Log in again on this one.',
  ERR_SESSION_NOT_BOUND:
    'This bank session is not linked to this device yet. Reload the bank page.',
  ERR_CHALLENGE_MISMATCH:
    'The bank page and the server disagree about the session. Reload the bank page.',
  ERR_RATE_LIMITED: 'The server asked Tacit to slow down. It waits and retries by itself.',
  ERR_STALE:
    "This computer's clock seems wrong. Set the date and time automatically, then reload the bank page.",
  ERR_DPOP_STALE:
    "This computer's clock seems wrong. Set the date and time automatically, then try again.",
  ERR_REPLAY: 'A statement was sent twice and refused. Nothing to do: the next one goes through.',
  ERR_DPOP_REPLAY: 'A request was sent twice and refused. Try again.',
  ERR_CHAIN: "The server lost track of this session's statements. Reload the bank page.",
  ERR_STORE_UNAVAILABLE:
    'The verification server is briefly unavailable. Tacit retries by itself; nothing is lost.',
  ERR_STORAGE_FULL:
    'The verification server cannot store anything right now. Tacit retries by itself.',
};

const FALLBACK = 'Something went wrong. Try again; if this stays, restart the browser.';

/** The sentence for a code as the background reports it; a generic one for null or unknown. */
export function describeError(code: string | null | undefined): string {
  if (!code) return FALLBACK;
  const [own, server] = code.split('/');
  return (server && SENTENCES[server]) || (own && SENTENCES[own]) || FALLBACK;
}

/** Every code the table knows (for its test). */
export const DESCRIBED_CODES: readonly string[] = Object.keys(SENTENCES);
