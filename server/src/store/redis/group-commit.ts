/**
 * Group commit of the Redis store's actions: every action is one function of one script,
 * `tacitBatch` (`lua/batch.lua`), and the audited actions requested while the previous batch
 * was in flight (or during one event-loop turn) go to Redis as ONE call.
 *
 * **An action** reads the state its rule needs (`read()` in its Lua file) and writes what Node
 * decided on that read (`rules.ts`), all-or-nothing: sent as a `commit`, it is applied only if
 * the script reads exactly the state the decision was taken on (and, when it appends audit
 * records, only if the audit head is the one they were chained to); otherwise it writes
 * nothing and answers what it read, and Node decides again. An action whose read Node cannot
 * guess is first sent as a `probe`, which changes nothing. A refusal is decided on a read
 * (atomic, at one point in time) and needs no second call.
 *
 * **The audit chain.** A record's hash is SHA-256 over canonical JSON, computed in Node with
 * the same `nextAuditRecord` as SQLite (Redis's Lua has no SHA-256): records are sent chained
 * to the head `{seq, hash}` they assume, and the script appends them at the `seq` after that
 * head only, so no record is lost or duplicated, and none exists for an action that did not
 * apply.
 *
 * **Batches.** Audited actions are not sent one by one (each would wait for its own round trip
 * and, with `appendfsync always`, its own fsync, and they could not overlap: each needs the head
 * the previous one left). A batch's actions are chained in order, each on the previous one's
 * records, assuming the previous ones apply; the script runs them in order and reports the ones
 * whose head or read differs. Node settles each caller when its own action committed (or was
 * refused), rebuilds the others from the real head and read and puts them first in the next
 * batch (at most {@link MAX_ATTEMPTS} sends each). One script rather than a pipeline of
 * scripts: no other instance's write lands between two actions of a batch (which would
 * invalidate every later one), and Redis fsyncs once for the whole batch. One batch per
 * process is in flight, since the next chains on its result; another instance moving the head
 * costs a retry of the batch's audited actions. Actions without records do not touch the chain:
 * they are sent at once, each in its own call.
 *
 * If a batch's answer is lost (connection error, timeout), every caller of the batch gets the
 * error although a prefix of it may have been applied, as with a single call whose answer is
 * lost; the head is written after each action, so the chain stays consistent either way.
 *
 * @module
 */
import { auditEventList, nextAuditRecord } from '../../services/audit';
import type { AuditAnchor, AuditEvents, AuditRecord } from '../store';
import type { ActionName, Arg } from './scripts';

/** What Node decided on an action's read. */
export type Decision<R> =
  /** Nothing to write: the caller gets `result`. */
  | { apply: false; result: R }
  /** Write: `writes` are the action's decision arguments, `audit` builds its records. */
  | { apply: true; result: R; writes?: readonly Arg[]; audit?: () => AuditEvents };

/** One action, as a store method asks for it. */
export interface Action<R> {
  name: ActionName;
  /** The action's arguments (`A(k)` in its Lua file). */
  args: readonly Arg[];
  /**
   * Decides on what the script read (`extra`: what it answered besides). Pure: called again on
   * each read, and once more on the final answer for the caller's result.
   */
  decide(read: string[], extra: unknown): Decision<R>;
  /** The action appends audit records (when it applies): it joins a batch. */
  audited: boolean;
  /** The read expected, if Node can guess it (skips the probe when right). */
  guess?: string[];
}

/** An action's final answer. */
export interface Committed<R> {
  result: R;
  /** The audit records appended with it (none when it did not apply). */
  records: AuditRecord[];
}

/** One action's answer in a `tacitBatch` reply: status, read, extra. */
type ActionReply = [status: 'done' | 'read' | 'head', read: string[], extra?: unknown];
/** A `tacitBatch` reply: the head after the batch, and one answer per action. */
type BatchReply = [headSeq: string, headHash: string, results: ActionReply[]];

/** The most actions in one batch (bounds how long the script blocks Redis). */
export const MAX_BATCH = 128;
/** How often an action is sent before giving up (probe and retries included). */
export const MAX_ATTEMPTS = 100;

/** An action waiting for the next batch (or to be sent again). */
interface Queued {
  action: Action<unknown>;
  /** The last read (or the guess); undefined while unknown (sent as a probe). */
  read: string[] | undefined;
  extra: unknown;
  /** Times sent without being settled. */
  attempts: number;
  resolve: (committed: Committed<unknown>) => void;
  reject: (error: unknown) => void;
}

/** A read as the script encodes it (each item length-prefixed, lengths in bytes). */
export function encodeRead(read: readonly string[]): string {
  return read.map((s) => `${Buffer.byteLength(s)}:${s}`).join('');
}

/** The `tacitBatch` arguments of one action (see `lua/batch.lua`). */
function actionArgs(
  action: Action<unknown>,
  read: string[] | undefined,
  writes: readonly Arg[],
  head: AuditAnchor | undefined,
  records: readonly AuditRecord[],
  encodeRecord: (r: AuditRecord) => string,
): Arg[] {
  const last = records.at(-1);
  return [
    action.name,
    read ? 'commit' : 'probe',
    read ? encodeRead(read) : '',
    head ? String(head.seq) : '',
    head?.hash ?? '',
    last ? String(last.seq) : '',
    last?.hash ?? '',
    records.length,
    action.args.length,
    writes.length,
    ...records.map(encodeRecord),
    ...action.args,
    ...writes,
  ];
}

/** The group-commit engine of one store (one connection, one key prefix). */
export class GroupCommit {
  /** The audit head this process last saw (a hint: the script checks it); undefined: unknown. */
  #head: AuditAnchor | undefined;
  /** Audited actions waiting for the next batch, in the order they are to run. */
  readonly #queue: Queued[] = [];
  /** A batch is in flight (the next one waits for its answer: it chains on its head). */
  #inFlight = false;
  /** A flush is scheduled (setImmediate). */
  #scheduled = false;

  /**
   * @param batch calls `tacitBatch` with these arguments (after the prefix).
   * @param encodeRecord an audit record as stored.
   */
  constructor(
    private readonly batch: (args: readonly Arg[]) => Promise<unknown>,
    private readonly encodeRecord: (r: AuditRecord) => string,
  ) {}

  /**
   * Runs an action: an unaudited one at once, an audited one with the next batch. Settles once
   * it committed, or was refused on a read.
   */
  run<R>(action: Action<R>): Promise<Committed<R>> {
    if (!action.audited) return this.#direct(action);
    return new Promise<Committed<R>>((resolve, reject) => {
      this.#queue.push({
        action: action as Action<unknown>,
        read: action.guess,
        extra: undefined,
        attempts: 0,
        resolve: resolve as (c: Committed<unknown>) => void,
        reject,
      });
      this.#schedule();
    });
  }

  /** An action without records, in its own calls (probe and commit, or the guessed commit). */
  async #direct<R>(action: Action<R>): Promise<Committed<R>> {
    let read = action.guess;
    let extra: unknown;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let writes: readonly Arg[] = [];
      if (read) {
        const decision = action.decide(read, extra);
        if (!decision.apply) return { result: decision.result, records: [] };
        writes = decision.writes ?? [];
      }
      const args = actionArgs(action as Action<unknown>, read, writes, undefined, [], () => '');
      const reply = (await this.batch([1, ...args])) as BatchReply;
      const [status, got, answered] = reply[2][0]!;
      if (status === 'done') return { result: action.decide(got, answered).result, records: [] };
      read = got;
      extra = answered;
    }
    throw new Error(`${action.name}: the state kept changing`);
  }

  /**
   * Flushes the queue at the end of this event-loop turn, unless a batch is in flight (its
   * answer schedules the next flush). Waiting for the turn to end lets every request handled
   * in it join the batch, as SQLite's group commit does.
   */
  #schedule(): void {
    if (this.#scheduled || this.#inFlight || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  /**
   * Sends the queued actions (at most {@link MAX_BATCH}) as one `tacitBatch` call. Each
   * action's records are chained on the previous action's last record (or on the head this
   * process last saw), i.e. assuming every earlier action of the batch applies; the script
   * checks that assumption action by action.
   */
  #flush(): void {
    if (this.#inFlight || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, MAX_BATCH);
    const sent: { queued: Queued; records: AuditRecord[] }[] = [];
    const argv: Arg[] = [];
    let cursor = this.#head;
    for (const queued of batch) {
      const records: AuditRecord[] = [];
      let writes: readonly Arg[] = [];
      // Without a read (or a head) the records cannot be built yet: probe, change nothing.
      const commit = queued.read !== undefined && cursor !== undefined;
      if (commit) {
        try {
          const decision = queued.action.decide(queued.read!, queued.extra);
          if (!decision.apply) {
            queued.resolve({ result: decision.result, records: [] });
            continue;
          }
          writes = decision.writes ?? [];
          for (const event of auditEventList(decision.audit?.())) {
            records.push(nextAuditRecord(records.at(-1) ?? cursor!, event));
          }
        } catch (err) {
          // A builder that throws (or data that is not canonical JSON): the action is not run.
          queued.reject(err);
          continue;
        }
      }
      argv.push(
        ...actionArgs(
          queued.action,
          commit ? queued.read : undefined,
          writes,
          cursor,
          records,
          this.encodeRecord,
        ),
      );
      sent.push({ queued, records });
      const last = records.at(-1);
      if (last) cursor = { seq: last.seq, hash: last.hash };
    }
    if (sent.length === 0) {
      this.#schedule();
      return;
    }
    this.#inFlight = true;
    this.batch([sent.length, ...argv])
      .then(
        (reply) => this.#settle(sent, reply as BatchReply),
        (err: unknown) => {
          // No answer: any prefix of the batch may have been applied (as with a single call
          // whose answer is lost). Each caller gets the error; the head is learned again.
          this.#head = undefined;
          for (const { queued } of sent) queued.reject(err);
        },
      )
      .finally(() => {
        this.#inFlight = false;
        this.#schedule();
      });
  }

  /**
   * Settles what a batch committed, and what a read refused; queues the rest again, first (in
   * their order), with what the script read: their records are rebuilt on the real head.
   */
  #settle(sent: readonly { queued: Queued; records: AuditRecord[] }[], reply: BatchReply): void {
    const [headSeq, headHash, results] = reply;
    this.#head = { seq: Number(headSeq), hash: headHash };
    const again: Queued[] = [];
    sent.forEach(({ queued, records }, i) => {
      const [status, read, extra] = results[i]!;
      try {
        if (status === 'done') {
          queued.resolve({ result: queued.action.decide(read, extra).result, records });
          return;
        }
        if (status === 'read') {
          // A probe, or the state changed: decide on what was read.
          const decision = queued.action.decide(read, extra);
          if (!decision.apply) {
            queued.resolve({ result: decision.result, records: [] });
            return;
          }
        }
      } catch (err) {
        queued.reject(err);
        return;
      }
      // Not applied yet (`read` that applies, or `head`: another instance, or an earlier
      // action of the batch, did not append what was assumed): nothing was written.
      queued.read = read;
      queued.extra = extra;
      queued.attempts += 1;
      if (queued.attempts >= MAX_ATTEMPTS) {
        queued.reject(new Error('audit append: too many concurrent writers'));
      } else {
        again.push(queued);
      }
    });
    this.#queue.unshift(...again);
  }
}
