/**
 * The store's business rules, once, as pure functions of the state an action reads: both
 * stores call them, SQLite inside the action's transaction (writer.ts), Redis on what an action
 * script read atomically (redis/group-commit.ts sends the writes back with that read as a
 * compare-and-set: the script applies them only if it reads exactly the same state again).
 *
 * Rules kept inside Redis instead, because deciding them in Node would cost the attestation
 * path a round trip (a read before the write): the attestation compare-and-set
 * ({@link attestationApplies}: `lua/attest.lua`), the termination of a live session
 * and the confirmation of a live session ({@link isLive}: `lua/terminate.lua`,
 * `lua/confirm.lua`), a `jti` spent once (`lua/use-jti.lua`), the newest
 * active signing key ({@link newestActiveKid}: `lua/rotate-key.lua`). Each of those Lua files
 * names the function here it implements, and `store.contract.test.ts` runs the same cases
 * against this module and both stores.
 *
 * The attestation's own rules (`seq` follows on, `prev` is the last hash, the signature, the
 * freshness window) are decided by the service before it calls the store; audit chaining
 * (`seq`, `prev`, `hash`) is `services/audit.ts` (`nextAuditRecord`).
 *
 * Times are milliseconds since the epoch.
 *
 * @module
 */
import type { AttestationPrecondition, EnrollDeviceInput } from './store';

/** One enrollment of a device key, as the rules need it. */
export interface EnrollmentState {
  rp: string;
  subject: string;
  createdAt: number;
  revokedAt: number | null;
}

/** An enrollment code, as the rules need it. */
export interface CodeState {
  rp: string;
  subject: string;
  expiresAt: number;
  usedAt: number | null;
}

/** A session, as the rules need it. */
export interface SessionState {
  endedAt: number | null;
  expiresAt: number;
  deviceJkt: string | null;
}

/** A session can still be bound, attested, confirmed or terminated: not ended, not expired. */
export function isLive(session: Pick<SessionState, 'endedAt' | 'expiresAt'>, now: number): boolean {
  return session.endedAt === null && session.expiresAt > now;
}

/** Whether `rp` lets a key be enrolled for several of its subjects (per the input's lists). */
export function allowsSharedDevices(
  input: Pick<EnrollDeviceInput, 'sharedDeviceRps' | 'exclusiveDeviceRps'>,
  rp: string,
): boolean {
  if (input.exclusiveDeviceRps?.includes(rp)) return false;
  return input.sharedDeviceRps.includes(rp) || input.sharedDeviceRps.includes('*');
}

/** What {@link decideEnrollment} reads. */
export interface EnrollmentRead {
  /** The statement's `jti` was already seen for its key. */
  jtiSeen: boolean;
  /** The code, undefined if unknown. */
  code: CodeState | undefined;
  /** Every enrollment of the key (any relying party, revoked ones included). */
  enrollments: readonly EnrollmentState[];
}

/** Outcome of {@link decideEnrollment}. */
export type EnrollmentDecision =
  | { ok: false; reason: 'replay' | 'code' | 'revoked' | 'shared' }
  /** Enroll for `rp`/`subject` (`created: false`: that enrollment exists, since `createdAt`). */
  | { ok: true; rp: string; subject: string; created: boolean; createdAt: number };

/**
 * Enrollment (`Store.enrollDevice`): a `jti` once; a code once, unexpired (single use: a used
 * code is refused like an unknown one); never re-enroll a key revoked for that subject; without
 * `sharedDevices` at the code's relying party, no second unrevoked subject there for one key.
 * When it is accepted the code is marked used and the `jti` remembered.
 */
export function decideEnrollment(
  read: EnrollmentRead,
  input: Pick<EnrollDeviceInput, 'now' | 'sharedDeviceRps' | 'exclusiveDeviceRps'>,
): EnrollmentDecision {
  if (read.jtiSeen) return { ok: false, reason: 'replay' };
  const code = read.code;
  if (!code || code.usedAt !== null || code.expiresAt <= input.now) {
    return { ok: false, reason: 'code' };
  }
  const { rp, subject } = code;
  const existing = read.enrollments.find((e) => e.rp === rp && e.subject === subject);
  if (existing) {
    if (existing.revokedAt !== null) return { ok: false, reason: 'revoked' };
    return { ok: true, rp, subject, created: false, createdAt: existing.createdAt };
  }
  if (!allowsSharedDevices(input, rp)) {
    const elsewhere = read.enrollments.some(
      (e) => e.revokedAt === null && e.rp === rp && e.subject !== subject,
    );
    if (elsewhere) return { ok: false, reason: 'shared' };
  }
  return { ok: true, rp, subject, created: true, createdAt: input.now };
}

/** What {@link decideBinding} reads. */
export interface BindingRead {
  jtiSeen: boolean;
  /** The session, undefined if unknown. */
  session: SessionState | undefined;
}

/** Outcome of {@link decideBinding}. */
export type BindingDecision =
  | { ok: false; reason: 'replay' | 'unknown' | 'expired' | 'bound' }
  /** Bind (or, `alreadyBound`, keep the binding to this key); the `jti` is remembered. */
  | { ok: true; alreadyBound: boolean };

/**
 * Session binding (`Store.bindSession`): unbound → bound to one key, for good; binding again
 * with the same key is accepted (and changes nothing); only a live session binds.
 */
export function decideBinding(read: BindingRead, jkt: string, now: number): BindingDecision {
  if (read.jtiSeen) return { ok: false, reason: 'replay' };
  const session = read.session;
  if (!session) return { ok: false, reason: 'unknown' };
  if (!isLive(session, now)) return { ok: false, reason: 'expired' };
  if (session.deviceJkt !== null && session.deviceJkt !== jkt)
    return { ok: false, reason: 'bound' };
  return { ok: true, alreadyBound: session.deviceJkt === jkt };
}

/** The enrollments a revocation revokes: the unrevoked ones (only the one of `scope`, if given). */
export function revocationTargets<E extends EnrollmentState>(
  enrollments: readonly E[],
  scope?: { rp: string; subject: string },
): E[] {
  return enrollments.filter(
    (e) => e.revokedAt === null && (!scope || (e.rp === scope.rp && e.subject === scope.subject)),
  );
}

/** What {@link decideDeviceRotation} reads. */
export interface RotationRead {
  jtiSeen: boolean;
  /** Every enrollment of the old key. */
  oldEnrollments: readonly EnrollmentState[];
  /** The new key has an enrollment (revoked ones included). */
  newKeyEnrolled: boolean;
  /** The sessions bound to the old key (others are ignored). */
  sessions: readonly (SessionState & { sid: string })[];
}

/** Outcome of {@link decideDeviceRotation}. */
export type RotationDecision =
  | { ok: false; reason: 'replay' | 'revoked' | 'in-use' }
  | {
      ok: true;
      /** The old key's unrevoked enrollments, oldest first: re-created for the new key. */
      moved: EnrollmentState[];
      /** The old key's live sessions, by sid: re-bound to the new key. */
      sessions: string[];
    };

/**
 * Key rotation (`Store.rotateDevice`): the old key must have an unrevoked enrollment, the new
 * key none at all (revoked ones included: a key is never reused); its unrevoked enrollments
 * move to the new key (the old ones are revoked) and its live sessions are re-bound.
 */
export function decideDeviceRotation(
  read: RotationRead,
  oldJkt: string,
  now: number,
): RotationDecision {
  if (read.jtiSeen) return { ok: false, reason: 'replay' };
  const moved = revocationTargets(read.oldEnrollments).sort(
    (a, b) => a.createdAt - b.createdAt || compare(a.rp, b.rp) || compare(a.subject, b.subject),
  );
  if (moved.length === 0) return { ok: false, reason: 'revoked' };
  if (read.newKeyEnrolled) return { ok: false, reason: 'in-use' };
  const sessions = read.sessions
    .filter((s) => s.deviceJkt === oldJkt && isLive(s, now))
    .map((s) => s.sid)
    .sort(compare);
  return { ok: true, moved, sessions };
}

/**
 * The attestation compare-and-set (`Store.appendAttestation`): the session is still bound to
 * the statement's key, live, and at the chain position the service checked the statement
 * against. Implemented in Redis by `lua/attest.lua` (see the module comment).
 */
export function attestationApplies(
  session: (SessionState & { lastSeq: number; lastHash: string }) | undefined,
  expected: AttestationPrecondition,
): boolean {
  return (
    session !== undefined &&
    session.deviceJkt === expected.jkt &&
    session.lastSeq === expected.lastSeq &&
    session.lastHash === expected.lastHash &&
    isLive(session, expected.now)
  );
}

/**
 * The signing key that signs: the newest active one (by `createdAt`, then `kid`). A rotation
 * applies only while it is the one the instance saw. Implemented in Redis by
 * `lua/rotate-key.lua`.
 */
export function newestActiveKid(
  keys: readonly { kid: string; createdAt: number; retiredAt: number | null }[],
): string | undefined {
  let newest: { kid: string; createdAt: number } | undefined;
  for (const k of keys) {
    if (k.retiredAt !== null) continue;
    if (
      !newest ||
      k.createdAt > newest.createdAt ||
      (k.createdAt === newest.createdAt && k.kid > newest.kid)
    ) {
      newest = k;
    }
  }
  return newest?.kid;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
