/**
 * The Shared Signals transmitter: turns committed state changes into signed SETs queued per
 * stream (the fan-out), and delivers push streams' SETs (RFC 8935) with retries.
 *
 * **Outbox.** The audit trail is the outbox's log: each change that leads to an event
 * (accepted attestation, policy decision, termination) writes its record in the change's own
 * atomic step, so a record exists exactly when the change committed. The fan-out reads the
 * records after the stored cursor, derives the events (`events.ts`), signs one SET per event
 * and stream, and queues them in one atomic step with moving the cursor (a compare-and-set:
 * with several instances on one Redis, one of them fans a range out, once; the others' work is
 * discarded). An event is never lost (the cursor only moves with its queued SETs) and never
 * emitted for a change that did not commit.
 *
 * **Push.** Each instance's worker leases due events of enabled push streams (a lease in the
 * store, so one instance delivers an event at a time), POSTs each as
 * `application/secevent+jwt`, and settles it: 2xx delivered (removed); 400 refused by the
 * receiver (RFC 8935 §2.3: retrying cannot help) → dead letter at once; any other answer, a
 * timeout or a network error → retried after an exponential back-off with jitter, and a dead
 * letter after `maxAttempts`. A dead letter is listed to the stream's owner and recorded in
 * the audit trail (`ssf.delivery_failed`). Paused streams keep their events (delivered once
 * enabled again); disabled streams get none queued (SSF 1.0 §8.1.2).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import type { ServerKeys } from '../crypto/keys';
import { DEFAULT_POLICY, thresholdsFor, type DecisionPolicy } from '../domain/decision';
import { errorFields, type Logger } from '../observability/log';
import type { Metrics } from '../observability/metrics';
import { actor, type AuditTrail } from '../services/audit';
import type {
  ClaimedEvent,
  OutboxEvent,
  PushSettlement,
  Store,
  StreamRecord,
  SubjectSignalState,
} from '../store/store';
import {
  deriveSignals,
  EVENT_TYPES,
  recordSid,
  sessionSubId,
  setClaims,
  type SessionFacts,
} from './events';

/** The `typ` of a Security Event Token (RFC 8417 §2.3). */
export const SET_TYP = 'secevent+jwt';

/** Delivery settings (defaults in {@link DEFAULT_DELIVERY}). */
export interface DeliveryOptions {
  /** Attempts before a dead letter (1–100). */
  maxAttempts: number;
  /** First retry delay (ms); doubles with each attempt, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** How long a push may take before it counts as failed (ms). */
  timeoutMs: number;
  /** How long a claim holds an event for one instance (ms; longer than `timeoutMs`). */
  leaseMs: number;
  /** Events pushed per worker tick. */
  batch: number;
  /** Audit records fanned out per step. */
  fanOutBatch: number;
}

/** Defaults: 8 attempts over about 4 minutes, 5 s per push. */
export const DEFAULT_DELIVERY: Readonly<DeliveryOptions> = Object.freeze({
  maxAttempts: 8,
  baseDelayMs: 1000,
  maxDelayMs: 5 * 60 * 1000,
  timeoutMs: 5000,
  leaseMs: 30_000,
  batch: 50,
  fanOutBatch: 500,
});

/** What the transmitter needs. */
export interface TransmitterDeps {
  store: Store;
  keys: ServerKeys;
  clock: Clock;
  logger: Logger;
  audit: AuditTrail;
  /** `iss` of the SETs (the verifier's public URL). */
  issuer: string;
  metrics: Metrics;
  policy?: DecisionPolicy;
  delivery?: Partial<DeliveryOptions>;
  /** Random source of the back-off's jitter, in [0, 1) (tests fix it). */
  random?: () => number;
  /** The HTTP client (global `fetch` when omitted). */
  fetch?: typeof fetch;
}

/** The retry delay before attempt `attempts + 1`: exponential, capped, with jitter (½–1×). */
export function backoffMs(attempts: number, o: DeliveryOptions, random: () => number): number {
  const full = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.max(0, attempts));
  return Math.round(full * (0.5 + random() / 2));
}

/** Most sessions whose facts the transmitter keeps (each a few hundred bytes). */
const KNOWN_FACTS_SIZE = 50_000;

/** See the module comment. */
export class SsfTransmitter {
  readonly #d: TransmitterDeps;
  readonly #o: DeliveryOptions;
  readonly #policy: DecisionPolicy;
  readonly #random: () => number;
  readonly #fetch: typeof fetch;
  /**
   * The facts of the sessions recently fanned out (oldest dropped first). A
   * session's rp and subject never change, so this holds on Redis too, whatever the other
   * instances write: without it, every attestation cost the fan-out one more session read (a
   * Redis round trip per attestation, 2026-12-07). A Map rather than `lru-cache`, whose licence
   * (BlueOak-1.0.0) is not on the supply check's allow-list.
   */
  readonly #knownFacts = new Map<string, SessionFacts>();
  /** This instance's lease owner id. */
  readonly owner = randomUUID();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(deps: TransmitterDeps) {
    this.#d = deps;
    this.#o = { ...DEFAULT_DELIVERY, ...deps.delivery };
    if (!Number.isInteger(this.#o.maxAttempts) || this.#o.maxAttempts < 1) {
      throw new TypeError(`SSF maxAttempts must be a positive integer, got ${this.#o.maxAttempts}`);
    }
    this.#policy = deps.policy ?? DEFAULT_POLICY;
    this.#random = deps.random ?? Math.random;
    this.#fetch = deps.fetch ?? fetch;
  }

  /** Signs one event for one stream. */
  async sign(
    stream: StreamRecord,
    type: string,
    body: Record<string, unknown>,
    subject: { subId: Record<string, unknown>; txn?: string },
  ): Promise<OutboxEvent> {
    const now = this.#d.clock.now();
    const jti = randomUUID();
    const claims = setClaims({
      iss: this.#d.issuer,
      aud: stream.aud,
      iat: Math.floor(now / 1000),
      jti,
      txn: subject.txn,
      subId: subject.subId,
      type,
      body,
    });
    const set = await this.#d.keys.sign(claims, SET_TYP);
    return { streamId: stream.id, jti, set, createdAt: now };
  }

  /** Queues a verification event (SSF 1.0 §8.1.4); false for a missing or disabled stream. */
  async verify(stream: StreamRecord, state: string | undefined): Promise<boolean> {
    const event = await this.sign(
      stream,
      EVENT_TYPES.verification,
      state === undefined ? {} : { state },
      { subId: { format: 'opaque', id: stream.id } },
    );
    const queued = await this.#d.store.ssf.enqueue(event);
    if (queued) this.#d.metrics.ssfQueued.inc();
    return queued;
  }

  /** The last audit `seq` (0 when the trail is empty). */
  async #auditHead(): Promise<number> {
    let head = (await this.#d.store.auditAnchor())?.seq ?? 0;
    for (;;) {
      const page = await this.#d.store.listAudit(head, 10_000);
      if (page.length === 0) return head;
      head = page.at(-1)!.seq;
    }
  }

  /**
   * One fan-out step: the audit records after the cursor (at most `fanOutBatch`) become
   * queued SETs. Returns how many records it consumed (0: nothing new, or another instance
   * moved the cursor first). The first step on a store starts at the current end of the trail
   * (history is not replayed to streams).
   */
  async fanOutOnce(): Promise<number> {
    const { store } = this.#d;
    const from = await store.ssf.cursor();
    if (from === null) {
      await store.ssf.fanOut({
        fromSeq: null,
        toSeq: await this.#auditHead(),
        events: [],
        states: [],
      });
      return 0;
    }
    const records = await store.listAudit(from, this.#o.fanOutBatch);
    if (records.length === 0) return 0;
    const sids = [...new Set(records.map(recordSid).filter((s) => s !== undefined))];
    const states = new Map<string, SubjectSignalState>(
      sids.map((sid) => [sid, { sid, level: null, risk: null }]),
    );
    for (const s of await store.ssf.subjectStates(sids)) states.set(s.sid, s);
    const facts = new Map<string, SessionFacts | undefined>();
    const streams = new Map<string, StreamRecord[]>();
    const changed = new Set<string>();
    const events: OutboxEvent[] = [];
    for (const record of records) {
      const sid = recordSid(record);
      if (sid === undefined) continue;
      const f = await this.#facts(facts, sid);
      if (!f) continue;
      const { signals, state } = deriveSignals(record, f, states.get(sid)!);
      if (state.level !== states.get(sid)!.level || state.risk !== states.get(sid)!.risk) {
        states.set(sid, state);
        changed.add(sid);
      }
      if (signals.length === 0) continue;
      if (!streams.has(f.rp)) streams.set(f.rp, await store.ssf.listStreams(f.rp));
      for (const signal of signals) {
        for (const stream of streams.get(f.rp)!) {
          if (stream.status === 'disabled' || !stream.eventsDelivered.includes(signal.type)) {
            continue;
          }
          events.push(
            await this.sign(stream, signal.type, signal.body, {
              subId: sessionSubId(signal.sid, signal.subject),
              txn: signal.txn,
            }),
          );
        }
      }
    }
    const applied = await store.ssf.fanOut({
      fromSeq: from,
      toSeq: records.at(-1)!.seq,
      events,
      states: [...changed].map((sid) => states.get(sid)!),
    });
    if (!applied) return 0;
    // An upper bound: a stream disabled meanwhile drops its share inside the same step.
    this.#d.metrics.ssfQueued.inc(events.length);
    return records.length;
  }

  async #facts(
    cache: Map<string, SessionFacts | undefined>,
    sid: string,
  ): Promise<SessionFacts | undefined> {
    if (!cache.has(sid)) cache.set(sid, this.#knownFacts.get(sid) ?? (await this.#readFacts(sid)));
    return cache.get(sid);
  }

  /** Reads a session's facts and keeps them (a missing session is not kept: it may come later). */
  async #readFacts(sid: string): Promise<SessionFacts | undefined> {
    const s = await this.#d.store.getSession(sid);
    if (!s) return undefined;
    const facts = { rp: s.rp, subject: s.subject, thresholds: thresholdsFor(this.#policy, s.rp) };
    // Bounded in insertion order: an evicted session costs one more read, so recency is not
    // worth tracking.
    if (this.#knownFacts.size >= KNOWN_FACTS_SIZE) {
      this.#knownFacts.delete(this.#knownFacts.keys().next().value!);
    }
    this.#knownFacts.set(sid, facts);
    return facts;
  }

  /** Fans out everything pending (until a step consumes nothing). */
  async fanOutAll(): Promise<void> {
    while ((await this.fanOutOnce()) > 0) {
      // Until caught up.
    }
  }

  /** One push round: claims due events and delivers them concurrently. Returns how many. */
  async pushOnce(): Promise<number> {
    const now = this.#d.clock.now();
    const claimed = await this.#d.store.ssf.claimPush(
      now,
      this.owner,
      now + this.#o.leaseMs,
      this.#o.batch,
    );
    await Promise.all(claimed.map((e) => this.#deliver(e)));
    return claimed.length;
  }

  async #deliver(e: ClaimedEvent): Promise<void> {
    const outcome = await this.#post(e);
    const now = this.#d.clock.now();
    const attempts = e.attempts + 1;
    const settlement: PushSettlement = outcome.ok
      ? { kind: 'delivered' }
      : outcome.final || attempts >= this.#o.maxAttempts
        ? { kind: 'dead', at: now, error: outcome.error }
        : {
            kind: 'retry',
            at: now + backoffMs(e.attempts, this.#o, this.#random),
            error: outcome.error,
          };
    const settled = await this.#d.store.ssf.settlePush(e.streamId, e.jti, this.owner, settlement);
    if (!settled) return;
    this.#d.metrics.ssfPush.inc({ outcome: settlement.kind });
    if (settlement.kind !== 'dead') return;
    this.#d.logger.warn('ssf_dead_letter', {
      stream: e.streamId,
      jti: e.jti,
      attempts,
      error: outcome.ok ? '' : outcome.error,
    });
    await this.#d.audit.record('ssf.delivery_failed', actor.system, {
      stream: e.streamId,
      jti: e.jti,
      attempts,
      error: settlement.error,
    });
  }

  async #post(
    e: ClaimedEvent,
  ): Promise<{ ok: true } | { ok: false; final: boolean; error: string }> {
    try {
      const res = await this.#fetch(e.endpointUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/secevent+jwt',
          accept: 'application/json',
          ...(e.authorizationHeader === null ? {} : { authorization: e.authorizationHeader }),
        },
        body: e.set,
        redirect: 'error',
        signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
      // The body is only read for a 400's RFC 8935 error code; never logged or stored whole.
      if (res.status >= 200 && res.status < 300) {
        await res.body?.cancel();
        return { ok: true };
      }
      if (res.status === 400)
        return { ok: false, final: true, error: `HTTP 400 ${await errCode(res)}`.trim() };
      await res.body?.cancel();
      return { ok: false, final: false, error: `HTTP ${res.status}` };
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      return {
        ok: false,
        final: false,
        error: name === 'TimeoutError' ? 'timeout' : 'network error',
      };
    }
  }

  /** Starts the loop: fan out, then push, every `intervalMs`. */
  start(intervalMs = 250): void {
    if (this.#timer) return;
    const tick = () => {
      this.#running = this.#tick().finally(() => {
        if (this.#timer) this.#timer = setTimeout(tick, intervalMs);
      });
    };
    this.#timer = setTimeout(tick, intervalMs);
  }

  async #tick(): Promise<void> {
    try {
      await this.fanOutAll();
      while ((await this.pushOnce()) >= this.#o.batch) {
        // A full batch: more may be due.
      }
    } catch (err) {
      this.#d.logger.error('ssf_transmitter_failed', errorFields(err));
    }
  }

  /** Stops the loop and waits for the round in flight. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}

/** The `err` member of an RFC 8935 error answer, if it is a plain code (else empty). */
async function errCode(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { err?: unknown };
    return typeof body.err === 'string' && /^[a-z_]{1,32}$/.test(body.err) ? body.err : '';
  } catch {
    return '';
  }
}
