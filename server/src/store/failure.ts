/**
 * Which store errors are the store being unavailable or full rather than a bug: the error
 * boundary answers them 503 (`ERR_STORE_UNAVAILABLE`, `ERR_STORAGE_FULL`) instead of a bare
 * 500, so a client and an operator can tell "retry later" from "our fault". The drivers' own
 * error shapes are read here, in one place: better-sqlite3's `SqliteError` codes, ioredis's
 * connection errors and Redis error replies.
 *
 * @module
 */
import Database from 'better-sqlite3';
import { ReplyError } from 'ioredis';
import { StorageFull, StoreUnavailable } from '../errors';

/** SQLite result codes of a store that cannot write right now (extended codes start with these). */
const SQLITE_UNAVAILABLE = ['SQLITE_IOERR', 'SQLITE_BUSY', 'SQLITE_CANTOPEN', 'SQLITE_READONLY'];

/**
 * ioredis's messages for a command that never got an answer: the connection is down and the
 * offline queue is off (`enableOfflineQueue: false`), it closed with the command in flight, or
 * the answer took longer than `commandTimeout` (a hung or paused Redis).
 */
const REDIS_NO_ANSWER = [
  "Stream isn't writeable",
  'Connection is closed.',
  'Command timed out',
  'Reached the max retries per request limit',
];

/** Socket errors of a connection that broke under a command. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN']);

function classifyOne(err: Error): StoreUnavailable | StorageFull | undefined {
  if (err instanceof Database.SqliteError) {
    if (err.code === 'SQLITE_FULL') return new StorageFull({ cause: err });
    if (SQLITE_UNAVAILABLE.some((c) => err.code.startsWith(c))) {
      return new StoreUnavailable({ cause: err });
    }
    return undefined;
  }
  if (err instanceof ReplyError) {
    // OOM: maxmemory reached with a noeviction policy; MISCONF: persistence cannot write.
    if (/^(OOM|MISCONF) /.test(err.message)) return new StorageFull({ cause: err });
    // Loading its data set, a replica, a failover in progress, a busy script.
    if (/^(LOADING|READONLY|MASTERDOWN|TRYAGAIN|BUSY) /.test(err.message)) {
      return new StoreUnavailable({ cause: err });
    }
    return undefined;
  }
  if (err.name === 'MaxRetriesPerRequestError') return new StoreUnavailable({ cause: err });
  if (REDIS_NO_ANSWER.some((m) => err.message.startsWith(m))) {
    return new StoreUnavailable({ cause: err });
  }
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && SOCKET_CODES.has(code)) {
    return new StoreUnavailable({ cause: err });
  }
  return undefined;
}

/**
 * The answer for a store failure, or `undefined` if `err` (or an error in its `cause` chain)
 * is not one.
 */
export function storeFailure(err: unknown): StoreUnavailable | StorageFull | undefined {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    const found = classifyOne(e);
    if (found) return found;
    e = e.cause;
  }
  return undefined;
}
