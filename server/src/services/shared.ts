/**
 * Rules the services share: the session lookup that checks the relying party, when a session
 * is live, which enrollment a session belongs to, how long a `jti` is remembered, and the audit
 * record of a rejected device statement (with only the identities proven so far).
 *
 * @module
 */
import { actor, type AuditTrail, type AuditType } from './audit';
import type { RelyingParty } from '../http/middleware/auth';
import { SessionExpired, SessionTerminated, TacitError, UnknownSession } from '../errors';
import { POLICY } from '../domain/policy';
import type { DeviceRecord, SessionRecord, Store } from '../store/store';

/** An instant (ms since the epoch) as an ISO 8601 string, as the API answers it. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** Identities proven so far while a device statement is checked (for the audit record). */
export interface Proven {
  /** Set once the statement's signature verified. */
  jkt?: string;
  sid?: string;
  seq?: number;
}

/**
 * Records a rejected device statement as `type`, with its error code and what was proven
 * (`anonymous` before the signature verified). Only Tacit errors are recorded: our own faults
 * are logged by the error boundary.
 */
export async function recordRejection(
  audit: AuditTrail,
  type: AuditType,
  err: unknown,
  proven: Proven,
): Promise<void> {
  if (!(err instanceof TacitError)) return;
  const who = proven.jkt === undefined ? actor.anonymous : actor.device(proven.jkt);
  await audit.record(type, who, { code: err.code, sid: proven.sid, seq: proven.seq });
}

/**
 * The session `sid` if `rp` opened it.
 *
 * @throws {UnknownSession} when there is no such session, or another relying party opened it:
 *   its existence is not theirs to learn.
 */
export async function ownSession(
  store: Store,
  rp: RelyingParty,
  sid: string,
): Promise<SessionRecord> {
  const session = await store.getSession(sid);
  if (!session || session.rp !== rp.id) throw new UnknownSession({ cause: 'not this rp' });
  return session;
}

/** The session is within its lifetime and not ended. */
export function isLive(session: SessionRecord, now: number): boolean {
  return session.endedAt === null && now < session.expiresAt;
}

/** The error for a session that is not live: terminated by policy, or expired or ended. */
export function over(session: SessionRecord, cause: string): SessionExpired | SessionTerminated {
  return session.terminatedAt !== null
    ? new SessionTerminated({ cause })
    : new SessionExpired({ cause });
}

/** The enrollment of a device key that matches a session's relying party and subject. */
export function enrollmentFor(
  devices: DeviceRecord[],
  session: SessionRecord,
): DeviceRecord | undefined {
  return devices.find((d) => d.rp === session.rp && d.subject === session.subject);
}

/** The session is bound to a device whose enrollment for it is not revoked. */
export async function deviceActive(store: Store, session: SessionRecord): Promise<boolean> {
  if (session.deviceJkt === null) return false;
  const device = enrollmentFor(await store.findDevicesByKey(session.deviceJkt), session);
  return device !== undefined && device.revokedAt === null;
}

/** A `jti` is remembered as long as its proof or statement could still pass the freshness check. */
export function jtiExpiry(iatSeconds: number): number {
  return Math.ceil((iatSeconds + POLICY.freshnessWindowS) * 1000) + 1000;
}
