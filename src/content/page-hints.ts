import type { PageHints } from '../shared/protocol';

const SESSION_ID = /^[A-Za-z0-9_-]{8,128}$/;
const CHALLENGE = /^[A-Za-z0-9_-]{16,128}$/;
const ENROLLMENT_CODE = /^[0-9A-Za-z-]{6,32}$/;

/**
 * Reads the hand-off a protected bank page declares in `<meta>` tags (docs/protocol.md §5).
 * Values that do not look like ids are ignored rather than forwarded.
 */
export function readPageHints(doc: Document): PageHints {
  const hints: PageHints = {};
  const session = doc.querySelector<HTMLMetaElement>('meta[name="tacit-session"]');
  const sid = session?.content ?? '';
  const challenge = session?.dataset.challenge ?? '';
  if (SESSION_ID.test(sid) && CHALLENGE.test(challenge)) hints.session = { sid, challenge };
  const code = doc.querySelector<HTMLMetaElement>('meta[name="tacit-enrollment"]')?.content ?? '';
  if (ENROLLMENT_CODE.test(code)) hints.enrollmentCode = code;
  return hints;
}
