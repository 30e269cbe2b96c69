/**
 * Which Shared Signals events the verifier's state changes produce (pure: no I/O). The input
 * is the audit trail, whose records are written in the same atomic step as the change they
 * describe: an event is derived from a committed change only, and from every one of them
 * (see `transmitter.ts`).
 *
 * Event types (CAEP 1.0, OpenID SSF 1.0):
 * - `assurance-level-change` when an accepted attestation moves the session's assurance level
 *   (`namespace: "custom"`, levels `none | enrolling | low | medium | high`);
 * - `risk-level-change` (principal `SESSION`) when the session's risk level moves: from an
 *   accepted attestation, by the relying party's thresholds (assurance below `terminateBelow`
 *   → HIGH, below `stepUpBelow` → MEDIUM, otherwise LOW), and from each policy decision
 *   (`allow` → LOW, `step-up` → MEDIUM, `terminate` → HIGH);
 * - `session-revoked` when a decision terminates the session (`reason_admin` in English);
 * - after a strong-factor confirmation (`session.confirmed`): `risk-level-change` back to LOW
 *   (`risk_reason: STRONG_FACTOR_CONFIRMED`) and `assurance-level-change` to the confirmed
 *   assurance's level, each only when it changes what was last sent.
 *
 * @module
 */
import type { Thresholds } from '../domain/decision';
import type { AuditRecord, SubjectSignalState } from '../store/store';

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';

/** Event type URIs the transmitter emits. */
export const EVENT_TYPES = {
  riskLevelChange: `${CAEP}risk-level-change`,
  assuranceLevelChange: `${CAEP}assurance-level-change`,
  sessionRevoked: `${CAEP}session-revoked`,
  /** SSF 1.0 §8.1.4: sent on request, to check a stream end to end. */
  verification: 'https://schemas.openid.net/secevent/ssf/event-type/verification',
} as const;

/** Every event type a stream can carry (`events_supported`). */
export const SUPPORTED_EVENTS: readonly string[] = Object.values(EVENT_TYPES);

/** CAEP risk levels. */
export type RiskLevel = 'LOW' | 'MEDIUM' | 'HIGH';

/** One event about one session, before it becomes a SET per stream. */
export interface SessionSignal {
  /** The relying party whose streams get it. */
  rp: string;
  sid: string;
  /** The relying party's subject (its own pseudonym of the user). */
  subject: string;
  type: string;
  /** The event's members (`events[type]`). */
  body: Record<string, unknown>;
  /** `txn`: the audit record it comes from (`audit:<seq>`). */
  txn: string;
}

/** What derivation needs to know about a session besides the record. */
export interface SessionFacts {
  rp: string;
  subject: string;
  thresholds: Thresholds;
}

/** Order of the assurance levels that have one (`change_direction`). */
const LEVEL_RANK: Readonly<Record<string, number>> = { low: 0, medium: 1, high: 2 };

/** Risk of an assurance value under a relying party's thresholds. */
export function riskOfAssurance(assurance: number, t: Thresholds): RiskLevel {
  if (assurance < t.terminateBelow) return 'HIGH';
  if (assurance < t.stepUpBelow) return 'MEDIUM';
  return 'LOW';
}

/** Risk of a policy decision's action. */
export function riskOfAction(action: string): RiskLevel {
  return action === 'terminate' ? 'HIGH' : action === 'step-up' ? 'MEDIUM' : 'LOW';
}

/** The session a record is about, or undefined when it produces no event. */
export function recordSid(record: AuditRecord): string | undefined {
  if (
    ![
      'attestation.accepted',
      'policy.decision',
      'session.terminated',
      'session.confirmed',
    ].includes(record.type)
  ) {
    return undefined;
  }
  const sid = record.data.sid;
  return typeof sid === 'string' ? sid : undefined;
}

/**
 * The events one audit record produces for its session, and the session's state after it.
 * `previous` is what was last sent about the session.
 */
export function deriveSignals(
  record: AuditRecord,
  facts: SessionFacts,
  previous: SubjectSignalState,
): { signals: SessionSignal[]; state: SubjectSignalState } {
  const sid = previous.sid;
  const state = { ...previous };
  const signals: SessionSignal[] = [];
  const eventTimestamp = Math.floor(Date.parse(record.ts) / 1000);
  const emit = (type: string, body: Record<string, unknown>) =>
    signals.push({
      rp: facts.rp,
      sid,
      subject: facts.subject,
      type,
      body: { ...body, event_timestamp: eventTimestamp },
      txn: `audit:${record.seq}`,
    });
  const risk = (level: RiskLevel, reason: string) => {
    if (state.risk === level) return;
    emit(EVENT_TYPES.riskLevelChange, {
      principal: 'SESSION',
      current_level: level,
      ...(state.risk === null ? {} : { previous_level: state.risk }),
      risk_reason: reason,
    });
    state.risk = level;
  };
  const assuranceLevel = (level: string) => {
    if (level === state.level) return;
    const from = state.level === null ? undefined : LEVEL_RANK[state.level];
    const to = LEVEL_RANK[level];
    emit(EVENT_TYPES.assuranceLevelChange, {
      namespace: 'custom',
      current_level: level,
      ...(state.level === null ? {} : { previous_level: state.level }),
      ...(from !== undefined && to !== undefined
        ? { change_direction: to > from ? 'increase' : 'decrease' }
        : {}),
    });
    state.level = level;
  };
  const d = record.data;
  switch (record.type) {
    case 'attestation.accepted': {
      if (typeof d.level === 'string') assuranceLevel(d.level);
      if (typeof d.assurance === 'number') {
        const level = riskOfAssurance(d.assurance, facts.thresholds);
        risk(
          level,
          level === 'HIGH'
            ? 'ASSURANCE_BELOW_TERMINATE'
            : level === 'MEDIUM'
              ? 'ASSURANCE_BELOW_STEP_UP'
              : 'ASSURANCE_ABOVE_STEP_UP',
        );
      }
      break;
    }
    case 'policy.decision': {
      const reasons = Array.isArray(d.reasons) ? d.reasons.map(String) : [];
      risk(riskOfAction(String(d.action)), reasons.length > 0 ? reasons.join(' ') : 'ALLOW');
      break;
    }
    case 'session.confirmed': {
      // The relying party verified a strong factor: the step-up is cleared.
      if (typeof d.level === 'string') assuranceLevel(d.level);
      risk('LOW', 'STRONG_FACTOR_CONFIRMED');
      break;
    }
    case 'session.terminated': {
      const reasons = Array.isArray(d.reasons) ? d.reasons.map(String) : [];
      emit(EVENT_TYPES.sessionRevoked, {
        initiating_entity: 'policy',
        reason_admin: {
          en: `Terminated by the relying party's decision policy (${reasons.join(', ') || 'policy'}).`,
        },
      });
      break;
    }
  }
  return { signals, state };
}

/**
 * The SET claims of one event for one stream (RFC 8417 §2.2; SSF 1.0 §4): `iss`, `aud`,
 * `iat`, `jti`, `txn`, `sub_id` (a `complex` subject: the session and its user, both
 * `opaque`), and exactly one event. Never `sub` nor `exp`.
 */
export function setClaims(input: {
  iss: string;
  aud: string;
  iat: number;
  jti: string;
  txn?: string;
  subId?: Record<string, unknown>;
  type: string;
  body: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    iss: input.iss,
    aud: input.aud,
    iat: input.iat,
    jti: input.jti,
    ...(input.txn === undefined ? {} : { txn: input.txn }),
    ...(input.subId === undefined ? {} : { sub_id: input.subId }),
    events: { [input.type]: input.body },
  };
}

/** `sub_id` of a session event (CAEP's complex session + user subject). */
export function sessionSubId(sid: string, subject: string): Record<string, unknown> {
  return {
    format: 'complex',
    session: { format: 'opaque', id: sid },
    user: { format: 'opaque', id: subject },
  };
}
