/**
 * Messages between the SQLite store (`sqlite.ts`, on the event loop) and its writer thread
 * (`sqlite-writer.ts`), which owns every connection that writes. Wire types only, no logic.
 *
 * Every write of a store is one {@link WriteOp}: plain data (structured-cloned), never a
 * function. Audit records are built on the event loop from the caller's builder and sent as
 * {@link PreparedAuditEvent}s (their `data` already canonical JSON); the writer assigns `seq`,
 * `prev` and `hash` inside the action's transaction. An action whose records depend on its
 * outcome (enrollment, binding, revocation) is first sent as a probe, then again with the
 * records built from the outcome the probe found, as on Redis (see {@link OutcomeAudit}).
 *
 * @module
 */
import type {
  AttestationPrecondition,
  AttestationRecord,
  BindSessionInput,
  EnrollDeviceInput,
  EnrollmentCodeRecord,
  FanOutInput,
  JtiEntry,
  OutboxEvent,
  PushSettlement,
  StreamRecord,
  NewSession,
  PurgeCutoffs,
  RotateDeviceInput,
  SessionAttestationUpdate,
  SigningKeyRecord,
} from '../store';

/** An audit event ready to append: `ts` as stored (ISO 8601), `data` as canonical JSON. */
export interface PreparedAuditEvent {
  ts: string;
  type: string;
  actor: string;
  dataJson: string;
}

/** Where an appended record sits in the chain (the rest of it is the event). */
export interface AppendedAudit {
  seq: number;
  prev: string;
  hash: string;
}

/**
 * The records of an action whose records depend on its outcome. Without `expect` (a probe),
 * or when the outcome differs from `expect` (JSON of the outcome the records were built
 * from), a successful action is rolled back and answered `again` with its outcome.
 */
export interface OutcomeAudit {
  expect?: string;
  events: PreparedAuditEvent[];
}

/** One write, as a store method asks for it (see the method of the same name in store.ts). */
export type WriteOp =
  | { kind: 'getOrCreateSecret'; name: string; value: string }
  | { kind: 'addSigningKey'; key: SigningKeyRecord }
  | { kind: 'rotateSigningKey'; expectedKid: string; next: SigningKeyRecord; now: number }
  | { kind: 'createEnrollmentCode'; code: EnrollmentCodeRecord; events: PreparedAuditEvent[] }
  | { kind: 'enrollDevice'; input: EnrollDeviceInput; audit?: OutcomeAudit }
  | {
      kind: 'revokeDevice';
      jkt: string;
      now: number;
      scope?: { rp: string; subject: string };
      audit?: OutcomeAudit;
    }
  | { kind: 'useJti'; entry: JtiEntry }
  | { kind: 'rotateDevice'; input: RotateDeviceInput }
  | { kind: 'createSession'; session: NewSession; events: PreparedAuditEvent[] }
  | { kind: 'bindSession'; input: BindSessionInput; audit?: OutcomeAudit }
  | {
      kind: 'appendAttestation';
      attestation: AttestationRecord;
      update: SessionAttestationUpdate;
      expected: AttestationPrecondition;
      events: PreparedAuditEvent[];
    }
  | { kind: 'endSession'; sid: string; now: number; events: PreparedAuditEvent[] }
  | { kind: 'terminateSession'; sid: string; now: number; events: PreparedAuditEvent[] }
  | { kind: 'confirmSession'; sid: string; now: number; events: PreparedAuditEvent[] }
  | { kind: 'appendAudit'; event: PreparedAuditEvent }
  | { kind: 'purgeAudit'; before: number }
  | { kind: 'purgeExpired'; cutoffs: PurgeCutoffs }
  | { kind: 'ssf'; op: SsfOp };

/** One Shared Signals operation (see the method of the same name of `SsfStore`). */
export type SsfOp =
  | { kind: 'putStream'; stream: StreamRecord }
  | { kind: 'getStream'; id: string }
  | { kind: 'listStreams'; rp?: string }
  | { kind: 'deleteStream'; id: string }
  | { kind: 'cursor' }
  | { kind: 'subjectStates'; sids: readonly string[] }
  | { kind: 'fanOut'; input: FanOutInput }
  | { kind: 'enqueue'; event: OutboxEvent }
  | { kind: 'claimPush'; now: number; owner: string; leaseUntil: number; limit: number }
  | { kind: 'settlePush'; streamId: string; jti: string; owner: string; s: PushSettlement }
  | { kind: 'poll'; streamId: string; ack: readonly string[]; max: number }
  | { kind: 'deadLetters'; streamId: string };

/** An error crossing the thread boundary (rebuilt as its class where the store knows it). */
export interface WireError {
  name: string;
  message: string;
  /** SQLite's error code (`SQLITE_CONSTRAINT_PRIMARYKEY`, …) when it is a `SqliteError`. */
  code?: string;
}

/** The outcome of one write, after its batch committed (or failed to). */
export type WriteResult =
  | { id: number; status: 'ok'; value: unknown }
  | { id: number; status: 'error'; error: WireError }
  /** Rolled back: its records must be built from `outcome` (see {@link OutcomeAudit}). */
  | { id: number; status: 'again'; outcome: unknown };

/** Event loop → writer thread. `db` numbers the connections of one process. */
export type ToWriter =
  | { type: 'open'; db: number; path: string }
  | { type: 'write'; db: number; ops: { id: number; op: WriteOp }[] }
  | { type: 'close'; db: number };

/** Writer thread → event loop. */
export type FromWriter =
  | { type: 'opened'; db: number; error?: WireError }
  | { type: 'results'; db: number; results: WriteResult[] }
  | { type: 'closed'; db: number };
