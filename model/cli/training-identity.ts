/**
 * Who trained an encoder, identified by their data rather than by a folder name: a user's
 * fingerprint is the SHA-256 of their first recording's raw events (the loader's output, so
 * train and eval compute it alike). `npm run eval --model` refuses a test user whose fingerprint
 * is in the encoder's `training.json`, whatever the folder is called, and accepts another
 * dataset's `user7` that merely shares a name with a training user.
 */
import { createHash } from 'node:crypto';
import type { RawEvent } from '../events/schema';

/** Events hashed per user: enough to tell people apart, cheap on 1,000 users. */
const FINGERPRINT_EVENTS = 400;

/** The fingerprint of a user from their first recording (a sequence, or a session). */
export function userFingerprint(events: readonly RawEvent[]): string {
  const hash = createHash('sha256');
  for (const e of events.slice(0, FINGERPRINT_EVENTS)) hash.update(JSON.stringify(e));
  hash.update(`|${events.length}`);
  return `sha256:${hash.digest('hex')}`;
}
