/**
 * The persistence boundary, implemented on SQLite (`sqlite/`) and Redis (`redis/`, shared
 * by several instances); both pass `store.contract.test.ts`, and both take their decisions
 * (which outcome an enrollment, a binding, a rotation… has) from `rules.ts`. Every method is async and atomic:
 * a method either commits all of its effect or none of it, so a rejected request stores nothing.
 * Methods whose outcome depends on concurrent writers (enrollment, binding, appending an
 * attestation) check their preconditions inside the same atomic step and report a typed
 * outcome instead of throwing.
 *
 * Methods that perform an audited action take an optional {@link AuditFor} builder: the audit
 * record(s) it returns are appended in the same atomic step as the action (both commit or
 * neither does), and only when the action succeeded.
 *
 * Times are milliseconds since the epoch unless a field says otherwise.
 *
 * @module
 */
import type { SessionSignals } from '../contract/schemas';
import type { AttestationState } from '../domain/assurance';

/** A public EC P-256 JWK, exactly as stored (no private or optional members). */
export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

/** A server signing key. The private JWK is only ever read by `keys.ts`. */
export interface SigningKeyRecord {
  kid: string;
  /** JSON of the private JWK. */
  privateJwk: string;
  /** JSON of the public JWK. */
  publicJwk: string;
  createdAt: number;
  /** When the key stopped signing (it stays in the JWKS), null while active. */
  retiredAt: number | null;
}

/** An enrollment code, stored by hash. */
export interface EnrollmentCodeRecord {
  codeHash: string;
  rp: string;
  subject: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

/** A device enrolled for one subject of one relying party. */
export interface DeviceRecord {
  /** RFC 7638 thumbprint of `jwk`: the device id and the `kid` of its statements. */
  jkt: string;
  jwk: PublicJwk;
  subject: string;
  rp: string;
  createdAt: number;
  revokedAt: number | null;
}

/** A behavioral session. */
export interface SessionRecord {
  sid: string;
  rp: string;
  subject: string;
  challenge: string;
  createdAt: number;
  expiresAt: number;
  /** Set when the relying party ends the session (or a policy decision terminates it). */
  endedAt: number | null;
  /** Set when a policy decision terminated the session (`endedAt` is set too). */
  terminatedAt: number | null;
  /**
   * When the relying party last reported a strong-factor confirmation (server time), null
   * before any (docs/protocol.md §5 "Confirmation").
   */
  confirmedAt: number | null;
  /** The bound device, null until bound. */
  deviceJkt: string | null;
  boundAt: number | null;
  /** `seq` of the last accepted attestation, 0 before the first. */
  lastSeq: number;
  /** Chain hash of the last accepted attestation, `""` before the first. */
  lastHash: string;
  attestations: number;
  lastAttestationAt: number | null;
  lastState: AttestationState | null;
  /** EWMA of `conf` over accepted `scoring` attestations. */
  ewma: number | null;
  /** Last reported enrolment progress in [0, 1]. */
  progress: number | null;
  /** The session signals of the latest attestation that carried them, null before one did. */
  signals: SessionSignals | null;
}

/** A device's session signals (the contract's `sessionSignalsSchema`). */
export type { SessionSignals };

/** A fresh session as created (everything about binding and attestations still empty). */
export type NewSession = Pick<
  SessionRecord,
  'sid' | 'rp' | 'subject' | 'challenge' | 'createdAt' | 'expiresAt'
>;

/** One accepted attestation (the signed JWS itself is not kept, only its hash and claims). */
export interface AttestationRecord {
  sid: string;
  seq: number;
  jkt: string;
  /** `iat` claim (s). */
  iat: number;
  receivedAt: number;
  state: AttestationState;
  conf: number | null;
  progress: number;
  mv: string;
  keyEvents: number;
  pointerEvents: number;
  /** base64url SHA-256 of the compact JWS: the next attestation's `prev`. */
  hash: string;
}

/** A `jti` to remember, per device key, until the statement could no longer be fresh. */
export interface JtiEntry {
  jkt: string;
  jti: string;
  expiresAt: number;
}

/** Input of {@link Store.enrollDevice}. */
export interface EnrollDeviceInput {
  codeHash: string;
  jwk: PublicJwk;
  jkt: string;
  jti: JtiEntry;
  now: number;
  /**
   * Relying parties that let one key be enrolled, unrevoked, for several of their subjects
   * (decision policy `sharedDevices`); `'*'` stands for every one not in `exclusiveDeviceRps`.
   */
  sharedDeviceRps: readonly string[];
  /** With `'*'` in `sharedDeviceRps`: the relying parties that do not allow it. */
  exclusiveDeviceRps?: readonly string[];
}

/** Outcome of {@link Store.enrollDevice}. */
export type EnrollDeviceResult =
  | { ok: true; device: DeviceRecord; created: boolean }
  | { ok: false; reason: 'replay' | 'code' | 'revoked' | 'shared' };

/** Input of {@link Store.bindSession}. */
export interface BindSessionInput {
  sid: string;
  jkt: string;
  jti: JtiEntry;
  now: number;
}

/** Outcome of {@link Store.bindSession}. */
export type BindSessionResult =
  | { ok: true; session: SessionRecord; alreadyBound: boolean }
  | { ok: false; reason: 'replay' | 'unknown' | 'expired' | 'bound' };

/** Input of {@link Store.rotateDevice}. */
export interface RotateDeviceInput {
  /** The key being replaced (proven by the DPoP proof). */
  oldJkt: string;
  /** The replacement (proven by the rotation statement it signed). */
  newJkt: string;
  newJwk: PublicJwk;
  /** The rotation statement's `jti`, remembered for the new key. */
  jti: JtiEntry;
  now: number;
}

/** Outcome of {@link Store.rotateDevice}. */
export type RotateDeviceResult =
  | {
      ok: true;
      /** The enrollments moved to the new key (the old key's are revoked at `now`). */
      enrollments: DeviceRecord[];
      /** Live sessions re-bound from the old key to the new one. */
      sessions: string[];
    }
  | { ok: false; reason: 'replay' | 'revoked' | 'in-use' };

/** Outcome of {@link Store.rotateSigningKey}. */
export type RotateSigningKeyResult =
  | { ok: true; retired: string[] }
  /** The newest active key was no longer the expected one: another instance rotated first. */
  | { ok: false };

/** The session fields an accepted attestation changes. */
export interface SessionAttestationUpdate {
  lastSeq: number;
  lastHash: string;
  attestations: number;
  lastAttestationAt: number;
  lastState: AttestationState;
  ewma: number | null;
  progress: number;
  /** The attestation's signals; absent when it carried none (the stored ones stay). */
  signals?: SessionSignals;
}

/** What the session must still look like for an attestation to be appended. */
export interface AttestationPrecondition {
  jkt: string;
  lastSeq: number;
  lastHash: string;
  now: number;
}

/** Row counts per table, for tests and diagnostics. */
export interface StoreCounts {
  signingKeys: number;
  enrollmentCodes: number;
  usedEnrollmentCodes: number;
  devices: number;
  revokedDevices: number;
  sessions: number;
  boundSessions: number;
  attestations: number;
  jtis: number;
}

/** Rows expiring before these instants are deleted by {@link Store.purgeExpired}. */
export interface PurgeCutoffs {
  jtisBefore: number;
  enrollmentCodesBefore: number;
  sessionsBefore: number;
}

/** Rows removed by {@link Store.purgeExpired}. */
export interface PurgeResult {
  jtis: number;
  enrollmentCodes: number;
  sessions: number;
}

/** A value in an audit record's `data` (JSON, finite numbers only). */
export type AuditValue =
  string | number | boolean | null | readonly AuditValue[] | { readonly [key: string]: AuditValue };

/** What a caller appends to the audit trail; the store assigns `seq`, `prev` and `hash`. */
export interface AuditEvent {
  /** When it happened (ms since the epoch); stored as ISO 8601 UTC. */
  ts: number;
  type: string;
  actor: string;
  data: Record<string, AuditValue>;
}

/** Audit events to append with an action (none: `undefined` or `[]`), in this order. */
export type AuditEvents = AuditEvent | readonly AuditEvent[] | undefined;

/**
 * Builds the audit record(s) of an action from its successful outcome. It must be pure and
 * cheap: SQLite calls it inside the action's transaction; Redis calls it before the action's
 * script with the outcome the script then re-checks (and calls it again if that changed). If
 * it throws, the action is not applied.
 */
export type AuditFor<O> = (outcome: O) => AuditEvents;

/** One audit record exactly as exported and hashed (see audit.ts). */
export interface AuditRecord {
  seq: number;
  /** ISO 8601 UTC with milliseconds. */
  ts: string;
  type: string;
  actor: string;
  data: Record<string, AuditValue>;
  /** `hash` of the previous record (or the anchor, or the genesis hash). */
  prev: string;
  /** Hex SHA-256 of the canonical JSON of the other members. */
  hash: string;
}

/** The last record removed by retention: where the stored chain now starts. */
export interface AuditAnchor {
  seq: number;
  hash: string;
}

/** Outcome of {@link Store.purgeAudit}. */
export interface AuditPurgeResult {
  records: number;
  /** The anchor after the purge (unchanged when nothing was removed). */
  anchor: AuditAnchor | null;
}

/** Everything the server persists. See the module comment for the atomicity contract. */
export interface Store {
  /** Succeeds when the store can answer (health check). */
  ping(): Promise<void>;

  /** The value of secret `name`, created with `create()` on first use (first writer wins). */
  getOrCreateSecret(name: string, create: () => string): Promise<string>;

  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /** Adds a key unless one with the same kid exists. */
  addSigningKey(key: SigningKeyRecord): Promise<void>;
  /**
   * Atomically, and only if the newest active key (by `createdAt`, then `kid`) is still
   * `expectedKid`: retires every active key at `now` and adds `next` (first writer wins when
   * several instances rotate at once). Otherwise changes nothing and answers `{ok: false}`.
   */
  rotateSigningKey(
    expectedKid: string,
    next: SigningKeyRecord,
    now: number,
  ): Promise<RotateSigningKeyResult>;

  createEnrollmentCode(code: EnrollmentCodeRecord, audit?: AuditFor<void>): Promise<void>;
  /**
   * Atomically: rejects a seen `jti` (`replay`), a code that is unknown, used or expired
   * (`code`), a key already revoked for the code's subject (`revoked`), a key with an
   * unrevoked enrollment for another subject of the code's relying party unless that relying
   * party is in `sharedDeviceRps` (`shared`; enrollments at other relying parties do not
   * count); otherwise marks the
   * code used, remembers the `jti` and enrolls the device for the code's rp and subject
   * (`created: false` when that exact enrollment already exists). `audit` is appended on
   * success only.
   */
  enrollDevice(
    input: EnrollDeviceInput,
    audit?: AuditFor<{ device: DeviceRecord; created: boolean }>,
  ): Promise<EnrollDeviceResult>;
  /** Every enrollment of a device key (any relying party, revoked ones included). */
  findDevicesByKey(jkt: string): Promise<DeviceRecord[]>;
  /** Enrollments of one subject of one relying party, oldest first. */
  listDevicesBySubject(rp: string, subject: string): Promise<DeviceRecord[]>;
  /**
   * Revokes the enrollments of `jkt` (only the one of `scope` when given) not yet revoked.
   * Returns how many were revoked now (`audit` gets that number, 0 included).
   */
  revokeDevice(
    jkt: string,
    now: number,
    scope?: { rp: string; subject: string },
    audit?: AuditFor<number>,
  ): Promise<number>;
  /**
   * Atomically remembers `entry` unless that `jti` was already seen for that key. Returns false
   * (a replay) if it was. Used for DPoP proofs; statements record theirs inside their own method.
   */
  useJti(entry: JtiEntry): Promise<boolean>;
  /**
   * Atomically: rejects a seen `jti` (`replay`), an old key without any unrevoked enrollment
   * (`revoked`), a new key that has any enrollment, revoked ones included (`in-use`); otherwise
   * remembers the `jti`, enrolls the new key for every unrevoked enrollment of the old one
   * (`createdAt` = `now`), revokes those of the old key, and re-binds the old key's live
   * sessions (not ended, unexpired) to the new key.
   */
  rotateDevice(input: RotateDeviceInput): Promise<RotateDeviceResult>;

  createSession(session: NewSession, audit?: AuditFor<void>): Promise<void>;
  getSession(sid: string): Promise<SessionRecord | undefined>;
  /**
   * Atomically: rejects a seen `jti` (`replay`), an unknown (`unknown`), expired or ended
   * (`expired`) session, or one bound to another key (`bound`); otherwise remembers the `jti`
   * and binds the session to `jkt` if it was not bound yet. `audit` is appended on success only.
   */
  bindSession(
    input: BindSessionInput,
    audit?: AuditFor<{ session: SessionRecord; alreadyBound: boolean }>,
  ): Promise<BindSessionResult>;
  /**
   * Atomically: if the session is still bound to `expected.jkt`, unexpired, not ended, and its
   * `lastSeq` and `lastHash` are still the expected ones, records the attestation and applies
   * `update` (and appends `audit`); returns false (and changes nothing) otherwise.
   */
  appendAttestation(
    attestation: AttestationRecord,
    update: SessionAttestationUpdate,
    expected: AttestationPrecondition,
    audit?: AuditFor<void>,
  ): Promise<boolean>;
  /**
   * Ends a session (idempotent; `audit` is appended each time). Returns false (and appends
   * nothing) if there is no such session.
   */
  endSession(sid: string, now: number, audit?: AuditFor<void>): Promise<boolean>;
  /**
   * Atomically ends a live session (unexpired, not ended) and marks it terminated by policy
   * (and appends `audit`). Returns false (and changes nothing) if it was not live.
   */
  terminateSession(sid: string, now: number, audit?: AuditFor<void>): Promise<boolean>;
  /**
   * Atomically marks a live session (unexpired, not ended) confirmed at `now` (a later
   * confirmation replaces an earlier one) and appends `audit`. Returns false (and changes
   * nothing) if it was not live.
   */
  confirmSession(sid: string, now: number, audit?: AuditFor<void>): Promise<boolean>;

  /**
   * Atomically appends an audit record: `seq` is one more than the last record's (or the
   * anchor's, or 0), `prev` the last record's hash (or the anchor's, or the genesis hash),
   * `hash` computed by `auditHash`. Returns the stored record. (A record describing an
   * action goes to the action's method instead: see {@link AuditFor}.)
   */
  appendAudit(event: AuditEvent): Promise<AuditRecord>;
  /** Records with `seq > after`, in `seq` order, at most `limit`. */
  listAudit(after: number, limit: number): Promise<AuditRecord[]>;
  /** The retention anchor, null while nothing was purged. */
  auditAnchor(): Promise<AuditAnchor | null>;
  /**
   * Atomically deletes the longest prefix of the chain whose records are older than
   * `before` (ms) and makes the last deleted record the anchor.
   */
  purgeAudit(before: number): Promise<AuditPurgeResult>;

  /** Deletes rows whose expiry is before the cutoffs (attestations go with their session). */
  purgeExpired(cutoffs: PurgeCutoffs): Promise<PurgeResult>;
  counts(): Promise<StoreCounts>;
  close(): Promise<void>;

  /** The Shared Signals transmitter's state (streams, queued SETs, dead letters). */
  readonly ssf: SsfStore;
}

// --- Shared Signals (SSF) outbox ------------------------------------------------------------

/** OpenID SSF 1.0 stream status: `paused` holds events, `disabled` drops them. */
export type StreamStatus = 'enabled' | 'paused' | 'disabled';

/** An SSF event stream: one relying party's subscription to the verifier's SETs. */
export interface StreamRecord {
  /** `stream_id`. */
  id: string;
  /** The relying party (API key id) that owns the stream: only it sees or changes it. */
  rp: string;
  /** `aud` of the stream's SETs. */
  aud: string;
  /** `push` (RFC 8935, the verifier POSTs) or `poll` (RFC 8936, the receiver POSTs). */
  deliveryMethod: 'push' | 'poll';
  /** The receiver's endpoint (push only). */
  endpointUrl: string | null;
  /** `Authorization` header value the verifier sends with each push (push only). */
  authorizationHeader: string | null;
  /** Event type URIs the receiver asked for. */
  eventsRequested: string[];
  /** Event type URIs the stream carries (requested ∩ supported). */
  eventsDelivered: string[];
  description: string | null;
  status: StreamStatus;
  /** Why the status was last changed, as the receiver gave it. */
  reason: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A signed SET waiting for one stream. */
export interface OutboxEvent {
  streamId: string;
  /** The SET's `jti` (unique per stream). */
  jti: string;
  /** The compact JWS. */
  set: string;
  createdAt: number;
}

/** An event claimed for push delivery by one worker until `leaseUntil`. */
export interface ClaimedEvent extends OutboxEvent {
  /** Delivery attempts before this one. */
  attempts: number;
  endpointUrl: string;
  authorizationHeader: string | null;
}

/** A push that failed for good (kept for the relying party and operators to see). */
export interface DeadLetter {
  streamId: string;
  jti: string;
  attempts: number;
  /** Last failure, e.g. `HTTP 500` or `timeout` (never a response body). */
  error: string;
  failedAt: number;
}

/** What the transmitter last told receivers about one session. */
export interface SubjectSignalState {
  sid: string;
  /** Last assurance level sent (`assurance-level-change`), null before any. */
  level: string | null;
  /** Last risk level sent (`risk-level-change`), null before any. */
  risk: string | null;
}

/** Input of {@link SsfStore.fanOut}. */
export interface FanOutInput {
  /** The cursor the caller read (null: never set); the fan-out applies only if it is unchanged. */
  fromSeq: number | null;
  /** Audit `seq` the events were derived through. */
  toSeq: number;
  /** SETs to queue; those of a missing or disabled stream are dropped. */
  events: OutboxEvent[];
  /** Per-session state after these events. */
  states: SubjectSignalState[];
}

/** Outcome of one push attempt, for {@link SsfStore.settlePush}. */
export type PushSettlement =
  | { kind: 'delivered' }
  | { kind: 'retry'; at: number; error: string }
  | { kind: 'dead'; at: number; error: string };

/**
 * The SSF transmitter's persistent state. The audit trail is the outbox's log: every state
 * change that leads to an event is recorded there in the change's own atomic step, and
 * {@link SsfStore.fanOut} turns records past a cursor into queued SETs atomically with moving
 * the cursor (a compare-and-set, so one instance among several fans a range out, once).
 * Every method is atomic.
 */
export interface SsfStore {
  /** Creates or replaces a stream; a `disabled` one loses its queued events (SSF 1.0 §8.1.2). */
  putStream(stream: StreamRecord): Promise<void>;
  getStream(id: string): Promise<StreamRecord | undefined>;
  /** Streams of one relying party (every stream without `rp`), oldest first. */
  listStreams(rp?: string): Promise<StreamRecord[]>;
  /** Deletes a stream with its queued events and dead letters; false if unknown. */
  deleteStream(id: string): Promise<boolean>;
  /** Audit `seq` fanned out through, null before the first fan-out. */
  cursor(): Promise<number | null>;
  /** The stored states of these sessions (absent ones are not returned). */
  subjectStates(sids: readonly string[]): Promise<SubjectSignalState[]>;
  /** See {@link FanOutInput}. False (nothing written) when the cursor moved meanwhile. */
  fanOut(input: FanOutInput): Promise<boolean>;
  /** Queues one event (a verification event); false if the stream is missing or disabled. */
  enqueue(event: OutboxEvent): Promise<boolean>;
  /**
   * Leases up to `limit` events of enabled push streams that are due (`nextAttemptAt` ≤ `now`)
   * and not leased by anyone (a lease ends at `leaseUntil`), to `owner`.
   */
  claimPush(now: number, owner: string, leaseUntil: number, limit: number): Promise<ClaimedEvent[]>;
  /**
   * Settles a claimed event if `owner` still holds its lease: delivered (removed), retry
   * (attempts + 1, due at `at`), or dead (removed, a dead letter written). False otherwise.
   */
  settlePush(streamId: string, jti: string, owner: string, s: PushSettlement): Promise<boolean>;
  /**
   * RFC 8936 poll: removes the acknowledged events (`ack`, and those in `setErrs`), then
   * returns up to `max` of the remaining ones, oldest first (none while the stream is not
   * enabled), and whether more are waiting.
   */
  poll(
    streamId: string,
    ack: readonly string[],
    max: number,
  ): Promise<{ events: OutboxEvent[]; more: boolean }>;
  /** The stream's dead letters, oldest first. */
  deadLetters(streamId: string): Promise<DeadLetter[]>;
}
