/**
 * {@link Store} on Redis (ioredis), so several server instances can share one state.
 *
 * **Atomicity.** Every method that reads and then writes runs as one Lua script (EVALSHA via
 * ioredis `defineCommand`): Redis runs a script without interleaving any other command, so
 * the preconditions (a `jti` not seen, an enrollment code unused, a session not bound to
 * another key, the attestation compare-and-set on `(device, lastSeq, lastHash)`, a live
 * session for a termination) are checked and acted on in one step, whichever instance sends
 * it. Scripts check everything before their first write (a failed check writes nothing).
 *
 * **Audit chain.** A record's hash is SHA-256 over canonical JSON, computed in Node with the
 * same `auditHash` as SQLite (Redis's Lua has no SHA-256). An audited action is sent with its
 * records already chained to the head `{seq, hash}` they assume, plus the outcome the records
 * describe; the script appends them only if the head and the outcome are still those, and
 * otherwise writes nothing and answers the current outcome, so the records are rebuilt and the
 * action sent again. An action that needs its outcome to build its records (enrollment,
 * binding, revocation) is first sent as a probe that changes nothing.
 *
 * **Group commit.** Audited actions are not sent one by one (each would wait for its own round
 * trip and, with `appendfsync always`, its own fsync, and they could not overlap: each needs
 * the head the previous one left). The actions requested while the previous batch was in
 * flight (or during one event-loop turn) go to Redis as ONE script call (`tacitBatch`), each
 * with its records chained on the previous action's, assuming the previous ones succeed. The
 * script runs them in order, each still all-or-nothing (check, then action and its records);
 * an action whose head or outcome is not the assumed one writes nothing and is reported, and
 * the script goes on (actions that append no record still apply). Node resolves each caller
 * when its own action committed, rebuilds the others from the real head and puts them first
 * in the next batch (at most {@link MAX_AUDIT_ATTEMPTS} sends each). One script rather than a
 * pipeline of scripts: no other instance's write can land between two actions of a batch
 * (which would invalidate every later one), and Redis fsyncs once for the whole batch. Only
 * one batch per process is in flight, since the next one chains on its result; another
 * instance moving the head costs a retry of the batch's audited actions, never a lost or
 * duplicated record (a record is only written with its action, at the seq after the head it
 * was hashed against).
 *
 * **Durability.** A method that returned has been applied by Redis, which acknowledges
 * before anything reaches disk: what survives a Redis crash depends on its persistence
 * configuration. For no loss of an acknowledged attestation run Redis with `appendonly yes`
 * and `appendfsync always` (`everysec` may lose the last second; RDB snapshots alone lose
 * everything since the last one). A replica promoted after a failover may lack the last
 * writes (replication is asynchronous).
 *
 * **Deployment.** One Redis (or a primary with replicas), not Redis Cluster: the scripts
 * build the keys they touch from the prefix. Every key starts with the configured prefix
 * (default `tacit:`), so several deployments can share a Redis. `jti`s expire with a TTL (and
 * are purged with the other expired data); everything else is deleted by
 * {@link RedisStore.purgeExpired} and {@link RedisStore.purgeAudit}.
 *
 * @module
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { AttestationState } from '../../domain/assurance';
import { GENESIS_HASH, auditEventList, canonicalJson, nextAuditRecord } from '../../services/audit';
import { POLICY } from '../../domain/policy';
import type {
  AttestationPrecondition,
  AttestationRecord,
  AuditAnchor,
  AuditEvent,
  AuditEvents,
  AuditFor,
  AuditPurgeResult,
  AuditRecord,
  AuditValue,
  BindSessionInput,
  BindSessionResult,
  DeviceRecord,
  EnrollDeviceInput,
  EnrollDeviceResult,
  EnrollmentCodeRecord,
  JtiEntry,
  NewSession,
  PublicJwk,
  PurgeCutoffs,
  PurgeResult,
  RotateDeviceInput,
  RotateDeviceResult,
  RotateSigningKeyResult,
  SessionAttestationUpdate,
  SessionRecord,
  SigningKeyRecord,
  Store,
  StoreCounts,
} from '../store';

/** Options of {@link openRedisStore}. */
export interface RedisStoreOptions {
  /** `redis://` or `rediss://` URL (credentials and database number included). */
  url: string;
  /** Prefix of every key (default `tacit:`). */
  prefix?: string;
  /** Called with connection errors after start (ioredis keeps reconnecting meanwhile). */
  onError?: (err: Error) => void;
  /** How long a command may wait for its answer (ms, default 5000). */
  commandTimeoutMs?: number;
}

/** Thrown when Redis cannot be reached at start. The message never contains the URL. */
export class RedisUnavailableError extends Error {
  constructor(options?: ErrorOptions) {
    super('cannot connect to Redis (check TACIT_REDIS_URL and that Redis is running)', options);
    this.name = 'RedisUnavailableError';
  }
}

/** Default key prefix. */
export const DEFAULT_REDIS_PREFIX = 'tacit:';

/** Expired rows removed per script call (keeps each call short: Redis runs one at a time). */
const PURGE_BATCH = 1000;
/**
 * Shortest TTL of a remembered `jti` (ms): the longest it can matter (its expiry is `iat` + the
 * freshness window + 1 s, and `iat` may be up to the window ahead of the server's clock), so
 * no clock difference between instances lets one be forgotten early. Purges remove it from
 * the index at its expiry.
 */
const JTI_MIN_TTL_MS = (2 * POLICY.freshnessWindowS + 2) * 1000;
/** How often an audited action is sent before giving up (probe and retries included). */
const MAX_AUDIT_ATTEMPTS = 100;

// ---------------------------------------------------------------------------------------------
// Lua. Each action body defines `check()` (the outcome: a list of strings, `'ok'` first when
// the action applies), `apply(out)` and optionally `extra()` (data returned with the answer),
// reading the method's arguments with `A(1)`, `A(2)`, ... The bodies are wrapped into
// functions of one script, `tacitBatch` (below), which runs a list of actions in one call.
// ---------------------------------------------------------------------------------------------

/** Script bodies of the audited (or audit-capable) actions. */
const ACTIONS = {
  // A(1) codeHash, A(2) rp, A(3) subject, A(4) createdAt, A(5) expiresAt, A(6) usedAt or ''
  tacitCreateCode: `
local key = P .. 'code:' .. A(1)
local function check()
  if redis.call('EXISTS', key) == 1 then return {'exists'} end
  return {'ok'}
end
local function apply(out)
  redis.call('HSET', key, 'rp', A(2), 'subject', A(3), 'createdAt', A(4), 'expiresAt', A(5))
  if A(6) ~= '' then
    redis.call('HSET', key, 'usedAt', A(6))
    redis.call('HINCRBY', P .. 'counts', 'usedEnrollmentCodes', 1)
  end
  redis.call('ZADD', P .. 'codes', A(5), A(1))
end`,

  // A(1) codeHash, A(2) jkt, A(3) jwk JSON, A(4) jti.jkt, A(5) jti, A(6) jti expiry,
  // A(7) jti ttl, A(8) now, A(9) relying parties allowing shared devices ('*': all but
  // A(10)), A(10) those that do not (each a newline-separated list)
  tacitEnroll: `
local code_key = P .. 'code:' .. A(1)
local dev_key = P .. 'dev:' .. A(2)
local rev_key = P .. 'devrev:' .. A(2)
local now = tonumber(A(8))
local function listed(list, rp)
  return string.find('\\n' .. list .. '\\n', '\\n' .. rp .. '\\n', 1, true) ~= nil
end
local function check()
  if jti_seen(A(4), A(5)) then return {'replay'} end
  local c = redis.call('HMGET', code_key, 'rp', 'subject', 'expiresAt', 'usedAt')
  if not c[1] or c[4] or tonumber(c[3]) <= now then return {'code'} end
  local field = c[1] .. '\\n' .. c[2]
  local created = redis.call('HGET', dev_key, field)
  if created then
    if redis.call('HEXISTS', rev_key, field) == 1 then return {'revoked'} end
    return {'ok', '0', c[1], c[2], created}
  end
  if listed(A(10), c[1]) or not (listed(A(9), c[1]) or listed(A(9), '*')) then
    local prefix = c[1] .. '\\n'
    for _, f in ipairs(redis.call('HKEYS', dev_key)) do
      if string.sub(f, 1, #prefix) == prefix and redis.call('HEXISTS', rev_key, f) == 0 then
        return {'shared'}
      end
    end
  end
  return {'ok', '1', c[1], c[2], A(8)}
end
local function apply(out)
  redis.call('HSET', code_key, 'usedAt', A(8))
  redis.call('HINCRBY', P .. 'counts', 'usedEnrollmentCodes', 1)
  remember_jti(A(4), A(5), A(6), A(7))
  if out[2] == '1' then
    local field = out[3] .. '\\n' .. out[4]
    redis.call('HSET', dev_key, field, A(8))
    redis.call('SET', P .. 'jwk:' .. A(2), A(3))
    redis.call('SADD', P .. 'subj:' .. field, A(2))
    redis.call('HINCRBY', P .. 'counts', 'devices', 1)
  end
end`,

  // A(1) jkt, A(2) now, A(3) field (rp \\n subject) or '' for every enrollment
  tacitRevoke: `
local dev_key = P .. 'dev:' .. A(1)
local rev_key = P .. 'devrev:' .. A(1)
local function targets()
  local fields = {}
  local candidates = A(3) ~= '' and {A(3)} or redis.call('HKEYS', dev_key)
  for _, f in ipairs(candidates) do
    if redis.call('HEXISTS', dev_key, f) == 1 and redis.call('HEXISTS', rev_key, f) == 0 then
      table.insert(fields, f)
    end
  end
  return fields
end
local function check() return {'ok', tostring(#targets())} end
local function apply(out)
  local fields = targets()
  for _, f in ipairs(fields) do redis.call('HSET', rev_key, f, A(2)) end
  if #fields > 0 then redis.call('HINCRBY', P .. 'counts', 'revokedDevices', #fields) end
end`,

  // A(1) sid, A(2) rp, A(3) subject, A(4) challenge, A(5) createdAt, A(6) expiresAt
  tacitCreateSession: `
local key = P .. 'sess:' .. A(1)
local function check()
  if redis.call('EXISTS', key) == 1 then return {'exists'} end
  return {'ok'}
end
local function apply(out)
  redis.call('HSET', key, 'sid', A(1), 'rp', A(2), 'subject', A(3), 'challenge', A(4),
    'createdAt', A(5), 'expiresAt', A(6), 'lastSeq', '0', 'lastHash', '', 'attestations', '0')
  redis.call('ZADD', P .. 'sessions', A(6), A(1))
end`,

  // A(1) sid, A(2) jkt, A(3) jti.jkt, A(4) jti, A(5) jti expiry, A(6) jti ttl, A(7) now
  tacitBind: `
local key = P .. 'sess:' .. A(1)
local function check()
  if jti_seen(A(3), A(4)) then return {'replay'} end
  local s = redis.call('HMGET', key, 'sid', 'endedAt', 'expiresAt', 'deviceJkt')
  if not s[1] then return {'unknown'} end
  if s[2] or tonumber(s[3]) <= tonumber(A(7)) then return {'expired'} end
  if s[4] and s[4] ~= A(2) then return {'bound'} end
  if s[4] then return {'ok', '1'} end
  return {'ok', '0'}
end
local function apply(out)
  remember_jti(A(3), A(4), A(5), A(6))
  if out[2] == '0' then
    redis.call('HSET', key, 'deviceJkt', A(2), 'boundAt', A(7))
    redis.call('SADD', P .. 'keysess:' .. A(2), A(1))
    redis.call('HINCRBY', P .. 'counts', 'boundSessions', 1)
  end
end
extra = function() return redis.call('HGETALL', key) end`,

  // A(1) sid, A(2) seq, A(3) attestation JSON, A(4) expected jkt, A(5) expected lastSeq,
  // A(6) expected lastHash, A(7) now, A(8) lastSeq, A(9) lastHash, A(10) attestations,
  // A(11) lastAttestationAt, A(12) lastState, A(13) ewma or '', A(14) progress
  tacitAttest: `
local key = P .. 'sess:' .. A(1)
local function check()
  local s = redis.call('HMGET', key, 'deviceJkt', 'lastSeq', 'lastHash', 'endedAt', 'expiresAt')
  if not s[1] or s[1] ~= A(4) or s[2] ~= A(5) or s[3] ~= A(6) or s[4]
    or tonumber(s[5]) <= tonumber(A(7)) then
    return {'no'}
  end
  return {'ok'}
end
local function apply(out)
  redis.call('HSET', key, 'lastSeq', A(8), 'lastHash', A(9), 'attestations', A(10),
    'lastAttestationAt', A(11), 'lastState', A(12), 'progress', A(14))
  if A(13) == '' then
    redis.call('HDEL', key, 'ewma')
  else
    redis.call('HSET', key, 'ewma', A(13))
  end
  redis.call('HSET', P .. 'att:' .. A(1), A(2), A(3))
  redis.call('HINCRBY', P .. 'counts', 'attestations', 1)
end`,

  // A(1) sid, A(2) now
  tacitEndSession: `
local key = P .. 'sess:' .. A(1)
local function check()
  if redis.call('EXISTS', key) == 0 then return {'no'} end
  return {'ok'}
end
local function apply(out) redis.call('HSETNX', key, 'endedAt', A(2)) end`,

  // A(1) sid, A(2) now
  tacitTerminate: `
local key = P .. 'sess:' .. A(1)
local function check()
  local s = redis.call('HMGET', key, 'sid', 'endedAt', 'expiresAt')
  if not s[1] or s[2] or tonumber(s[3]) <= tonumber(A(2)) then return {'no'} end
  return {'ok'}
end
local function apply(out) redis.call('HSET', key, 'endedAt', A(2), 'terminatedAt', A(2)) end`,

  // Only the audit records.
  tacitAudit: `
local function check() return {'ok'} end
local function apply(out) end`,

  // A(1) jkt, A(2) jti, A(3) expiry, A(4) ttl
  tacitUseJti: `
local function check()
  if jti_seen(A(1), A(2)) then return {'replay'} end
  return {'ok'}
end
local function apply(out) remember_jti(A(1), A(2), A(3), A(4)) end`,

  // A(1) old jkt, A(2) new jkt, A(3) new jwk JSON, A(4) jti.jkt, A(5) jti, A(6) jti expiry,
  // A(7) jti ttl, A(8) now. Outcome: 'ok', n, then n pairs (field, createdAt), then sids.
  tacitRotateDevice: `
local old_dev = P .. 'dev:' .. A(1)
local old_rev = P .. 'devrev:' .. A(1)
local now = tonumber(A(8))
local function live_sessions()
  local sids = {}
  for _, sid in ipairs(redis.call('SMEMBERS', P .. 'keysess:' .. A(1))) do
    local s = redis.call('HMGET', P .. 'sess:' .. sid, 'deviceJkt', 'endedAt', 'expiresAt')
    if s[1] == A(1) and not s[2] and tonumber(s[3]) > now then table.insert(sids, sid) end
  end
  table.sort(sids)
  return sids
end
local function check()
  if jti_seen(A(4), A(5)) then return {'replay'} end
  local out = {'ok', '0'}
  local n = 0
  local all = redis.call('HGETALL', old_dev)
  for i = 1, #all, 2 do
    if redis.call('HEXISTS', old_rev, all[i]) == 0 then
      table.insert(out, all[i])
      table.insert(out, all[i + 1])
      n = n + 1
    end
  end
  if n == 0 then return {'revoked'} end
  if redis.call('EXISTS', P .. 'dev:' .. A(2)) == 1 then return {'in-use'} end
  out[2] = tostring(n)
  for _, sid in ipairs(live_sessions()) do table.insert(out, sid) end
  return out
end
local function apply(out)
  remember_jti(A(4), A(5), A(6), A(7))
  local n = tonumber(out[2])
  for i = 0, n - 1 do
    local field = out[3 + 2 * i]
    redis.call('HSET', P .. 'dev:' .. A(2), field, A(8))
    redis.call('SADD', P .. 'subj:' .. field, A(2))
    redis.call('HSET', old_rev, field, A(8))
  end
  redis.call('SET', P .. 'jwk:' .. A(2), A(3))
  redis.call('HINCRBY', P .. 'counts', 'devices', n)
  redis.call('HINCRBY', P .. 'counts', 'revokedDevices', n)
  for i = 3 + 2 * n, #out do
    local sid = out[i]
    redis.call('HSET', P .. 'sess:' .. sid, 'deviceJkt', A(2))
    redis.call('SMOVE', P .. 'keysess:' .. A(1), P .. 'keysess:' .. A(2), sid)
  end
end`,
} as const;

/**
 * Runs a list of actions in order, in one script call (so no other client's command lands
 * between two of them, and Redis fsyncs once for all of them with `appendfsync always`).
 *
 * ARGV: 1 prefix, 2 number of actions, then per action: name, mode (`probe` | `commit`),
 * expected outcome (`*`: any), expected head seq/hash (before its records), new head seq/hash
 * (after them), number n of audit records, number m of arguments, the n records, the m
 * arguments.
 *
 * Each action on its own is all-or-nothing, as if it were its own script: a failed check
 * answers `done` with the outcome and writes nothing; a probe, or an outcome other than the
 * expected one, answers `outcome`; records assuming another head answer `head` (both write
 * nothing); otherwise the action, its records and the new head are written, `done`. The head
 * is written after each action, so the chain stays consistent even if a later action of the
 * batch fails with an error (Redis does not roll back a script). Answers the head after the
 * batch and one `{status, outcome, extra}` per action.
 */
const BATCH = `
local P = ARGV[1]
local function remember_jti(jkt, jti, expires_at, ttl)
  redis.call('SET', P .. 'jti:' .. jkt .. ':' .. jti, '1', 'PX', ttl)
  redis.call('ZADD', P .. 'jtis', expires_at, jkt .. ':' .. jti)
end
local function jti_seen(jkt, jti)
  return redis.call('EXISTS', P .. 'jti:' .. jkt .. ':' .. jti) == 1
end
local ACTIONS = {}
${Object.entries(ACTIONS)
  .map(
    ([name, body]) => `ACTIONS['${name}'] = function(A)
local extra = function() return nil end
${body}
return check, apply, extra
end`,
  )
  .join('\n')}
local h = redis.call('HMGET', P .. 'audit:head', 'seq', 'hash')
local hs, hh = h[1] or '0', h[2] or '${GENESIS_HASH}'
local results = {}
local i = 3
for op = 1, tonumber(ARGV[2]) do
  local name, mode, expect = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local eseq, ehash, nseq, nhash = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  local n, m = tonumber(ARGV[i + 7]), tonumber(ARGV[i + 8])
  local rec = i + 8
  local base = rec + n
  local check, apply, extra = ACTIONS[name](function(k) return ARGV[base + k] end)
  local out = check()
  if out[1] ~= 'ok' then
    results[op] = {'done', out}
  elseif mode == 'probe' or (expect ~= '*' and expect ~= table.concat(out, '\\n')) then
    results[op] = {'outcome', out, extra()}
  elseif n > 0 and (hs ~= eseq or hh ~= ehash) then
    results[op] = {'head', out, extra()}
  else
    apply(out)
    if n > 0 then
      for k = 1, n do redis.call('ZADD', P .. 'audit', tonumber(eseq) + k, ARGV[rec + k]) end
      hs, hh = nseq, nhash
      redis.call('HSET', P .. 'audit:head', 'seq', hs, 'hash', hh)
    end
    results[op] = {'done', out, extra()}
  end
  i = base + m + 1
end
return {hs, hh, results}
`;

/** Scripts that are not audited actions. ARGV[1] is the prefix. */
const PLAIN = {
  // ARGV: 2 kid, 3 record JSON, 4 createdAt, 5 retiredAt or ''
  tacitAddKey: `
local P = ARGV[1]
if redis.call('HSETNX', P .. 'keys', ARGV[2], ARGV[3]) == 1 then
  redis.call('HSET', P .. 'keys:created', ARGV[2], ARGV[4])
  if ARGV[5] ~= '' then redis.call('HSET', P .. 'keys:retired', ARGV[2], ARGV[5]) end
end
return 1`,

  // ARGV: 2 expected kid, 3 next kid, 4 next JSON, 5 next createdAt, 6 now
  tacitRotateKey: `
local P = ARGV[1]
local created = redis.call('HGETALL', P .. 'keys:created')
local newest_kid, newest_at = nil, nil
local active = {}
for i = 1, #created, 2 do
  local kid, at = created[i], tonumber(created[i + 1])
  if redis.call('HEXISTS', P .. 'keys:retired', kid) == 0 then
    table.insert(active, kid)
    if not newest_kid or at > newest_at or (at == newest_at and kid > newest_kid) then
      newest_kid, newest_at = kid, at
    end
  end
end
if newest_kid ~= ARGV[2] then return {'no'} end
table.sort(active)
for _, kid in ipairs(active) do redis.call('HSET', P .. 'keys:retired', kid, ARGV[6]) end
if redis.call('HSETNX', P .. 'keys', ARGV[3], ARGV[4]) == 1 then
  redis.call('HSET', P .. 'keys:created', ARGV[3], ARGV[5])
end
return {'ok', active}`,

  tacitListKeys: `
local P = ARGV[1]
return {redis.call('HGETALL', P .. 'keys'), redis.call('HGETALL', P .. 'keys:retired')}`,

  // ARGV: 2 jkt
  tacitDevicesByKey: `
local P = ARGV[1]
return {redis.call('HGETALL', P .. 'dev:' .. ARGV[2]),
  redis.call('HGETALL', P .. 'devrev:' .. ARGV[2]),
  redis.call('GET', P .. 'jwk:' .. ARGV[2]) or ''}`,

  // ARGV: 2 field (rp \\n subject). Flat list: jkt, createdAt, revokedAt or '', jwk.
  tacitDevicesBySubject: `
local P = ARGV[1]
local field = ARGV[2]
local out = {}
for _, jkt in ipairs(redis.call('SMEMBERS', P .. 'subj:' .. field)) do
  local created = redis.call('HGET', P .. 'dev:' .. jkt, field)
  if created then
    table.insert(out, jkt)
    table.insert(out, created)
    table.insert(out, redis.call('HGET', P .. 'devrev:' .. jkt, field) or '')
    table.insert(out, redis.call('GET', P .. 'jwk:' .. jkt) or '')
  end
end
return out`,

  // ARGV: 2 before (ISO 8601), 3 batch size. Deletes the longest old prefix of at most
  // `batch` records. Answers {records, anchor seq, anchor hash}.
  tacitPurgeAudit: `
local P = ARGV[1]
local items = redis.call('ZRANGE', P .. 'audit', 0, tonumber(ARGV[3]) - 1, 'WITHSCORES')
local n, last = 0, nil
for i = 1, #items, 2 do
  local ts = string.match(items[i], '^{"seq":%d+,"ts":"([^"]*)"')
  if not ts or ts >= ARGV[2] then break end
  n = n + 1
  last = i
end
if n == 0 then
  local a = redis.call('HMGET', P .. 'audit:anchor', 'seq', 'hash')
  return {0, a[1] or '', a[2] or ''}
end
local seq = items[last + 1]
local hash = string.match(items[last], '"hash":"([^"]*)"}$') or ''
redis.call('ZREMRANGEBYRANK', P .. 'audit', 0, n - 1)
redis.call('HSET', P .. 'audit:anchor', 'seq', seq, 'hash', hash)
return {n, seq, hash}`,

  // ARGV: 2 jtis, 3 codes, 4 sessions (cutoffs), 5 batch size.
  tacitPurgeExpired: `
local P = ARGV[1]
local limit = tonumber(ARGV[5])
local function expired(index, before)
  return redis.call('ZRANGEBYSCORE', P .. index, '-inf', '(' .. before, 'LIMIT', 0, limit)
end
local jtis = expired('jtis', ARGV[2])
for _, m in ipairs(jtis) do
  redis.call('DEL', P .. 'jti:' .. m)
  redis.call('ZREM', P .. 'jtis', m)
end
local codes = expired('codes', ARGV[3])
for _, h in ipairs(codes) do
  if redis.call('HEXISTS', P .. 'code:' .. h, 'usedAt') == 1 then
    redis.call('HINCRBY', P .. 'counts', 'usedEnrollmentCodes', -1)
  end
  redis.call('DEL', P .. 'code:' .. h)
  redis.call('ZREM', P .. 'codes', h)
end
local sessions = expired('sessions', ARGV[4])
for _, sid in ipairs(sessions) do
  local jkt = redis.call('HGET', P .. 'sess:' .. sid, 'deviceJkt')
  if jkt then
    redis.call('HINCRBY', P .. 'counts', 'boundSessions', -1)
    redis.call('SREM', P .. 'keysess:' .. jkt, sid)
  end
  local n = redis.call('HLEN', P .. 'att:' .. sid)
  if n > 0 then redis.call('HINCRBY', P .. 'counts', 'attestations', -n) end
  redis.call('DEL', P .. 'sess:' .. sid, P .. 'att:' .. sid)
  redis.call('ZREM', P .. 'sessions', sid)
end
return {#jtis, #codes, #sessions}`,

  tacitCounts: `
local P = ARGV[1]
local c = redis.call('HMGET', P .. 'counts', 'usedEnrollmentCodes', 'devices', 'revokedDevices',
  'boundSessions', 'attestations')
return {redis.call('HLEN', P .. 'keys'), redis.call('ZCARD', P .. 'codes'), c[1] or '0',
  c[2] or '0', c[3] or '0', redis.call('ZCARD', P .. 'sessions'), c[4] or '0', c[5] or '0',
  redis.call('ZCARD', P .. 'jtis')}`,
} as const;

type ActionName = keyof typeof ACTIONS;
type ScriptName = 'tacitBatch' | keyof typeof PLAIN;
type Arg = string | number;
/** One action's answer in a `tacitBatch` reply: status, outcome, extra. */
type ActionReply = [status: 'done' | 'outcome' | 'head', out: string[], extra?: unknown];
/** A `tacitBatch` reply: the head after the batch, and one answer per action. */
type BatchReply = [headSeq: string, headHash: string, results: ActionReply[]];

/** The most actions in one batch (bounds how long the script blocks Redis). */
const MAX_BATCH = 128;

/** What an action script answered. */
interface ActionResult {
  out: string[];
  extra: unknown;
  /** The audit records it appended. */
  records: AuditRecord[];
}

/** Flat `[k1, v1, k2, v2, …]` (an HGETALL inside Lua) → object. */
function pairs(flat: unknown): Record<string, string> {
  const list = (flat ?? []) as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] = list[i + 1]!;
  return out;
}

const optNum = (v: string | undefined): number | null => (v === undefined ? null : Number(v));
const optStr = (v: number | string | null): string => (v === null ? '' : String(v));

function toSession(h: Record<string, string>): SessionRecord {
  return {
    sid: h.sid!,
    rp: h.rp!,
    subject: h.subject!,
    challenge: h.challenge!,
    createdAt: Number(h.createdAt),
    expiresAt: Number(h.expiresAt),
    endedAt: optNum(h.endedAt),
    terminatedAt: optNum(h.terminatedAt),
    deviceJkt: h.deviceJkt ?? null,
    boundAt: optNum(h.boundAt),
    lastSeq: Number(h.lastSeq ?? 0),
    lastHash: h.lastHash ?? '',
    attestations: Number(h.attestations ?? 0),
    lastAttestationAt: optNum(h.lastAttestationAt),
    lastState: (h.lastState as AttestationState | undefined) ?? null,
    ewma: optNum(h.ewma),
    progress: optNum(h.progress),
  };
}

/** `rp` and `subject` as one hash field (rp ids cannot contain a newline). */
const enrollmentField = (rp: string, subject: string) => `${rp}\n${subject}`;
function splitField(field: string): { rp: string; subject: string } {
  const i = field.indexOf('\n');
  return { rp: field.slice(0, i), subject: field.slice(i + 1) };
}

/**
 * An audit record as stored (a member of the `audit` sorted set, scored by `seq`): JSON with
 * the members in export order, `data` as canonical JSON (`rawData` replaces it: tests use it
 * to store a tampered record).
 *
 * @internal exported for tests.
 */
export function encodeAuditRecord(r: AuditRecord, rawData: string = canonicalJson(r.data)): string {
  const s = JSON.stringify;
  return (
    `{"seq":${r.seq},"ts":${s(r.ts)},"type":${s(r.type)},"actor":${s(r.actor)},` +
    `"data":${rawData},"prev":${s(r.prev)},"hash":${s(r.hash)}}`
  );
}

/** The stored form back; a member that is no longer JSON is kept as `data.$corrupt`. */
function decodeAuditRecord(member: string, score: string): AuditRecord {
  try {
    const r = JSON.parse(member) as AuditRecord;
    return {
      seq: r.seq,
      ts: r.ts,
      type: r.type,
      actor: r.actor,
      data: r.data,
      prev: r.prev,
      hash: r.hash,
    };
  } catch {
    // Someone edited the record: keep the text so verification fails on it.
    const data: Record<string, AuditValue> = { $corrupt: member };
    return { seq: Number(score), ts: '', type: '', actor: '', data, prev: '', hash: '' };
  }
}

/** An audited action waiting for the next batch (or to be sent again). */
interface QueuedAction {
  name: ActionName;
  args: readonly Arg[];
  audit: (out: string[], extra: unknown) => AuditEvents;
  /** The outcome to build the records from; undefined while unknown (sent as a probe). */
  out: string[] | undefined;
  /** The `extra` answered with `out`. */
  extra: unknown;
  /** Times sent without being settled. */
  attempts: number;
  resolve: (result: ActionResult) => void;
  reject: (error: unknown) => void;
}

/** One action of a batch in flight, with the records sent with it. */
interface SentAction {
  action: QueuedAction;
  records: AuditRecord[];
}

/** The `tacitBatch` arguments of one action (see {@link BATCH}). */
function actionArgs(
  name: ActionName,
  mode: 'probe' | 'commit',
  expect: string,
  head: AuditAnchor | undefined,
  records: readonly AuditRecord[],
  args: readonly Arg[],
): Arg[] {
  const last = records.at(-1);
  return [
    name,
    mode,
    expect,
    head ? String(head.seq) : '',
    head?.hash ?? '',
    last ? String(last.seq) : '',
    last?.hash ?? '',
    records.length,
    args.length,
    ...records.map((r) => encodeAuditRecord(r)),
    ...args,
  ];
}

/**
 * Connects to Redis, checks it answers, and returns the store.
 *
 * @throws {RedisUnavailableError} if Redis cannot be reached (the URL is not in the message).
 */
export async function openRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  const redisOptions: RedisOptions = {
    // RESP2: the reply shapes the code below reads (flat WITHSCORES lists).
    protocol: 2,
    lazyConnect: true,
    // Fail fast while disconnected (a probe answers 503, a request 500) instead of queueing.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    commandTimeout: options.commandTimeoutMs ?? 5000,
  };
  const redis = new Redis(options.url, redisOptions);
  let connectError: Error | undefined;
  redis.on('error', (err: Error) => {
    connectError ??= err;
    options.onError?.(err);
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    // The first socket error says why ("connect ECONNREFUSED …"), not the URL.
    throw new RedisUnavailableError({ cause: connectError ?? err });
  }
  return new RedisStore(redis, options.prefix ?? DEFAULT_REDIS_PREFIX);
}

/** Redis implementation of {@link Store}. Create it with {@link openRedisStore}. */
export class RedisStore implements Store {
  /** The connection (shared with the Redis rate limiter). */
  readonly redis: Redis;
  /** Prefix of every key. */
  readonly prefix: string;
  /** The audit head this process last saw (a hint: scripts check it); undefined: unknown. */
  #head: AuditAnchor | undefined;
  /** Audited actions waiting for the next batch, in the order they are to run. */
  readonly #queue: QueuedAction[] = [];
  /** A batch is in flight (the next one waits for its answer: it chains on its head). */
  #inFlight = false;
  /** A flush is scheduled (setImmediate). */
  #scheduled = false;
  #closed = false;

  /** @internal use {@link openRedisStore}. */
  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
    for (const [name, lua] of Object.entries({ tacitBatch: BATCH, ...PLAIN })) {
      redis.defineCommand(name, { numberOfKeys: 0, lua });
    }
  }

  #script(name: ScriptName, args: readonly Arg[]): Promise<unknown> {
    const command = (this.redis as unknown as Record<string, (...a: Arg[]) => Promise<unknown>>)[
      name
    ]!;
    return command.call(this.redis, this.prefix, ...args);
  }

  /**
   * Runs an action, appending what `audit` builds from its outcome in the same atomic step.
   * `guess` is the outcome to build the records from first (skips the probe when right).
   * An unaudited action is sent at once (it does not touch the chain, so it needs no order
   * with the others); an audited one joins the next batch (see "Group commit" above) and
   * settles once its own action committed, or was refused by its check.
   */
  async #act(
    name: ActionName,
    args: readonly Arg[],
    audit?: (out: string[], extra: unknown) => AuditEvents,
    guess?: string[],
  ): Promise<ActionResult> {
    if (!audit) {
      const reply = (await this.#script('tacitBatch', [
        1,
        ...actionArgs(name, 'commit', '*', undefined, [], args),
      ])) as BatchReply;
      const [, out, extra] = reply[2][0]!;
      return { out, extra, records: [] };
    }
    return new Promise<ActionResult>((resolve, reject) => {
      const action = { name, args, audit, out: guess, extra: undefined, attempts: 0 };
      this.#queue.push({ ...action, resolve, reject });
      this.#schedule();
    });
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
   * process last saw), i.e. assuming every earlier action of the batch commits with its
   * expected outcome; the script checks that assumption action by action.
   */
  #flush(): void {
    if (this.#inFlight || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, MAX_BATCH);
    const sent: SentAction[] = [];
    const argv: Arg[] = [];
    let cursor = this.#head;
    for (const action of batch) {
      const records: AuditRecord[] = [];
      // Without an outcome (or a head) the records cannot be built yet: probe, change nothing.
      const commit = action.out !== undefined && cursor !== undefined;
      if (commit) {
        try {
          for (const event of auditEventList(action.audit(action.out!, action.extra))) {
            records.push(nextAuditRecord(records.at(-1) ?? cursor!, event));
          }
        } catch (err) {
          // A builder that throws (or data that is not canonical JSON): the action is not run.
          action.reject(err);
          continue;
        }
      }
      argv.push(
        ...actionArgs(
          action.name,
          commit ? 'commit' : 'probe',
          commit ? action.out!.join('\n') : '*',
          cursor,
          records,
          action.args,
        ),
      );
      sent.push({ action, records });
      const last = records.at(-1);
      if (last) cursor = { seq: last.seq, hash: last.hash };
    }
    if (sent.length === 0) {
      this.#schedule();
      return;
    }
    this.#inFlight = true;
    this.#script('tacitBatch', [sent.length, ...argv])
      .then(
        (reply) => this.#settle(sent, reply as BatchReply),
        (err: unknown) => {
          // No answer: any prefix of the batch may have been applied (as with a single call
          // whose answer is lost). Each caller gets the error; the head is learned again.
          this.#head = undefined;
          for (const { action } of sent) action.reject(err);
        },
      )
      .finally(() => {
        this.#inFlight = false;
        this.#schedule();
      });
  }

  /**
   * Settles what a batch committed or refused, and queues the rest again, first (in their
   * order), with the outcome the script found: their records are rebuilt on the real head.
   */
  #settle(sent: readonly SentAction[], [headSeq, headHash, results]: BatchReply): void {
    this.#head = { seq: Number(headSeq), hash: headHash };
    const again: QueuedAction[] = [];
    sent.forEach(({ action, records }, i) => {
      const [status, out, extra] = results[i]!;
      if (status === 'done') {
        // Applied with exactly these records, or refused by its check (nothing written).
        action.resolve({ out, extra, records: out[0] === 'ok' ? records : [] });
        return;
      }
      // `outcome` (a probe, or the outcome changed) or `head` (another instance, or an
      // earlier action of the batch, did not append what was assumed): nothing was written.
      action.out = out;
      action.extra = extra;
      action.attempts += 1;
      if (action.attempts >= MAX_AUDIT_ATTEMPTS) {
        action.reject(new Error('audit append: too many concurrent writers'));
      } else {
        again.push(action);
      }
    });
    this.#queue.unshift(...again);
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new Error('store closed');
    await this.redis.ping();
  }

  async getOrCreateSecret(name: string, create: () => string): Promise<string> {
    const key = `${this.prefix}meta`;
    const existing = await this.redis.hget(key, name);
    if (existing !== null) return existing;
    await this.redis.hsetnx(key, name, create());
    return (await this.redis.hget(key, name))!;
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const [keys, retired] = (await this.#script('tacitListKeys', [])) as [unknown, unknown];
    const retiredAt = pairs(retired);
    return Object.values(pairs(keys))
      .map((json) => {
        const r = JSON.parse(json) as Omit<SigningKeyRecord, 'retiredAt'>;
        return { ...r, retiredAt: optNum(retiredAt[r.kid]) };
      })
      .sort((a, b) => a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));
  }

  #keyJson(key: SigningKeyRecord): string {
    const { kid, privateJwk, publicJwk, createdAt } = key;
    return JSON.stringify({ kid, privateJwk, publicJwk, createdAt });
  }

  async addSigningKey(key: SigningKeyRecord): Promise<void> {
    await this.#script('tacitAddKey', [
      key.kid,
      this.#keyJson(key),
      key.createdAt,
      optStr(key.retiredAt),
    ]);
  }

  async rotateSigningKey(
    expectedKid: string,
    next: SigningKeyRecord,
    now: number,
  ): Promise<RotateSigningKeyResult> {
    const reply = (await this.#script('tacitRotateKey', [
      expectedKid,
      next.kid,
      this.#keyJson(next),
      next.createdAt,
      now,
    ])) as [string, string[]?];
    return reply[0] === 'ok' ? { ok: true, retired: reply[1] ?? [] } : { ok: false };
  }

  async createEnrollmentCode(code: EnrollmentCodeRecord, audit?: AuditFor<void>): Promise<void> {
    const { out } = await this.#act(
      'tacitCreateCode',
      [code.codeHash, code.rp, code.subject, code.createdAt, code.expiresAt, optStr(code.usedAt)],
      audit && (() => audit()),
      ['ok'],
    );
    if (out[0] !== 'ok') throw new Error('enrollment code exists');
  }

  async enrollDevice(
    input: EnrollDeviceInput,
    audit?: AuditFor<{ device: DeviceRecord; created: boolean }>,
  ): Promise<EnrollDeviceResult> {
    const outcome = (out: string[]) => ({
      device: {
        jkt: input.jkt,
        jwk: input.jwk,
        rp: out[2]!,
        subject: out[3]!,
        createdAt: Number(out[4]),
        revokedAt: null,
      },
      created: out[1] === '1',
    });
    const { out } = await this.#act(
      'tacitEnroll',
      [
        input.codeHash,
        input.jkt,
        JSON.stringify(input.jwk),
        ...this.#jtiArgs(input.jti, input.now),
        input.now,
        input.sharedDeviceRps.join('\n'),
        (input.exclusiveDeviceRps ?? []).join('\n'),
      ],
      audit && ((o) => audit(outcome(o))),
    );
    if (out[0] === 'ok') return { ok: true, ...outcome(out) };
    return { ok: false, reason: out[0] as 'replay' | 'code' | 'revoked' | 'shared' };
  }

  /** jti key, jti, expiry, and its TTL (ms; at least {@link JTI_MIN_TTL_MS}). */
  #jtiArgs(entry: JtiEntry, now: number | undefined): Arg[] {
    const left = now === undefined ? 0 : Math.ceil(entry.expiresAt - now);
    return [entry.jkt, entry.jti, entry.expiresAt, Math.max(JTI_MIN_TTL_MS, left)];
  }

  async findDevicesByKey(jkt: string): Promise<DeviceRecord[]> {
    const [created, revoked, jwk] = (await this.#script('tacitDevicesByKey', [jkt])) as [
      unknown,
      unknown,
      string,
    ];
    const revokedAt = pairs(revoked);
    return Object.entries(pairs(created))
      .map(([field, at]) => ({
        jkt,
        jwk: JSON.parse(jwk) as PublicJwk,
        ...splitField(field),
        createdAt: Number(at),
        revokedAt: optNum(revokedAt[field]),
      }))
      .sort(
        (a, b) => a.createdAt - b.createdAt || compare(a.rp, b.rp) || compare(a.subject, b.subject),
      );
  }

  async listDevicesBySubject(rp: string, subject: string): Promise<DeviceRecord[]> {
    const flat = (await this.#script('tacitDevicesBySubject', [
      enrollmentField(rp, subject),
    ])) as string[];
    const devices: DeviceRecord[] = [];
    for (let i = 0; i + 3 < flat.length; i += 4) {
      devices.push({
        jkt: flat[i]!,
        jwk: JSON.parse(flat[i + 3]!) as PublicJwk,
        rp,
        subject,
        createdAt: Number(flat[i + 1]),
        revokedAt: flat[i + 2] === '' ? null : Number(flat[i + 2]),
      });
    }
    return devices.sort((a, b) => a.createdAt - b.createdAt || compare(a.jkt, b.jkt));
  }

  async revokeDevice(
    jkt: string,
    now: number,
    scope?: { rp: string; subject: string },
    audit?: AuditFor<number>,
  ): Promise<number> {
    const field = scope ? enrollmentField(scope.rp, scope.subject) : '';
    const { out } = await this.#act(
      'tacitRevoke',
      [jkt, now, field],
      audit && ((o) => audit(Number(o[1]))),
    );
    return Number(out[1]);
  }

  async useJti(entry: JtiEntry): Promise<boolean> {
    const { out } = await this.#act('tacitUseJti', this.#jtiArgs(entry, undefined));
    return out[0] === 'ok';
  }

  async rotateDevice(input: RotateDeviceInput): Promise<RotateDeviceResult> {
    const { out } = await this.#act('tacitRotateDevice', [
      input.oldJkt,
      input.newJkt,
      JSON.stringify(input.newJwk),
      ...this.#jtiArgs(input.jti, input.now),
      input.now,
    ]);
    if (out[0] !== 'ok') return { ok: false, reason: out[0] as 'replay' | 'revoked' | 'in-use' };
    const n = Number(out[1]);
    // In the order the old key's enrollments were created (as SQLite lists them).
    const moved: { old: number; rp: string; subject: string }[] = [];
    for (let i = 0; i < n; i++) {
      moved.push({ old: Number(out[3 + 2 * i]), ...splitField(out[2 + 2 * i]!) });
    }
    moved.sort((a, b) => a.old - b.old || compare(a.rp, b.rp) || compare(a.subject, b.subject));
    const enrollments = moved.map(({ rp, subject }): DeviceRecord => ({
      jkt: input.newJkt,
      jwk: input.newJwk,
      rp,
      subject,
      createdAt: input.now,
      revokedAt: null,
    }));
    return { ok: true, enrollments, sessions: out.slice(2 + 2 * n) };
  }

  async createSession(session: NewSession, audit?: AuditFor<void>): Promise<void> {
    const { out } = await this.#act(
      'tacitCreateSession',
      [
        session.sid,
        session.rp,
        session.subject,
        session.challenge,
        session.createdAt,
        session.expiresAt,
      ],
      audit && (() => audit()),
      ['ok'],
    );
    if (out[0] !== 'ok') throw new Error('session exists');
  }

  async getSession(sid: string): Promise<SessionRecord | undefined> {
    const h = await this.redis.hgetall(`${this.prefix}sess:${sid}`);
    return h.sid === undefined ? undefined : toSession(h);
  }

  async bindSession(
    input: BindSessionInput,
    audit?: AuditFor<{ session: SessionRecord; alreadyBound: boolean }>,
  ): Promise<BindSessionResult> {
    const outcome = (out: string[], extra: unknown) => {
      const alreadyBound = out[1] === '1';
      const before = toSession(pairs(extra));
      const session = alreadyBound
        ? before
        : { ...before, deviceJkt: input.jkt, boundAt: before.boundAt ?? input.now };
      return { session, alreadyBound };
    };
    const { out, extra } = await this.#act(
      'tacitBind',
      [input.sid, input.jkt, ...this.#jtiArgs(input.jti, input.now), input.now],
      audit && ((o, e) => audit(outcome(o, e))),
    );
    if (out[0] !== 'ok') {
      return { ok: false, reason: out[0] as 'replay' | 'unknown' | 'expired' | 'bound' };
    }
    return { ok: true, ...outcome(out, extra) };
  }

  async appendAttestation(
    attestation: AttestationRecord,
    update: SessionAttestationUpdate,
    expected: AttestationPrecondition,
    audit?: AuditFor<void>,
  ): Promise<boolean> {
    const { out } = await this.#act(
      'tacitAttest',
      [
        attestation.sid,
        attestation.seq,
        JSON.stringify(attestation),
        expected.jkt,
        expected.lastSeq,
        expected.lastHash,
        expected.now,
        update.lastSeq,
        update.lastHash,
        update.attestations,
        update.lastAttestationAt,
        update.lastState,
        optStr(update.ewma),
        update.progress,
      ],
      audit && (() => audit()),
      ['ok'],
    );
    return out[0] === 'ok';
  }

  async endSession(sid: string, now: number, audit?: AuditFor<void>): Promise<boolean> {
    const { out } = await this.#act('tacitEndSession', [sid, now], audit && (() => audit()), [
      'ok',
    ]);
    return out[0] === 'ok';
  }

  async terminateSession(sid: string, now: number, audit?: AuditFor<void>): Promise<boolean> {
    const { out } = await this.#act('tacitTerminate', [sid, now], audit && (() => audit()), ['ok']);
    return out[0] === 'ok';
  }

  async appendAudit(event: AuditEvent): Promise<AuditRecord> {
    const { records } = await this.#act('tacitAudit', [], () => event, ['ok']);
    return records[0]!;
  }

  async listAudit(after: number, limit: number): Promise<AuditRecord[]> {
    const flat = (await this.redis.call(
      'ZRANGE',
      `${this.prefix}audit`,
      `(${after}`,
      '+inf',
      'BYSCORE',
      'LIMIT',
      0,
      limit,
      'WITHSCORES',
    )) as string[];
    const records: AuditRecord[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      records.push(decodeAuditRecord(flat[i]!, flat[i + 1]!));
    }
    return records;
  }

  async auditAnchor(): Promise<AuditAnchor | null> {
    const [seq, hash] = await this.redis.hmget(`${this.prefix}audit:anchor`, 'seq', 'hash');
    return seq === null || seq === undefined ? null : { seq: Number(seq), hash: hash ?? '' };
  }

  async purgeAudit(before: number): Promise<AuditPurgeResult> {
    const iso = new Date(before).toISOString();
    let records = 0;
    for (;;) {
      const [n, seq, hash] = (await this.#script('tacitPurgeAudit', [iso, PURGE_BATCH])) as [
        number,
        string,
        string,
      ];
      records += n;
      if (n < PURGE_BATCH) {
        return { records, anchor: seq === '' ? null : { seq: Number(seq), hash } };
      }
    }
  }

  async purgeExpired(cutoffs: PurgeCutoffs): Promise<PurgeResult> {
    const total: PurgeResult = { jtis: 0, enrollmentCodes: 0, sessions: 0 };
    for (;;) {
      const [j, c, s] = (await this.#script('tacitPurgeExpired', [
        cutoffs.jtisBefore,
        cutoffs.enrollmentCodesBefore,
        cutoffs.sessionsBefore,
        PURGE_BATCH,
      ])) as [number, number, number];
      total.jtis += j;
      total.enrollmentCodes += c;
      total.sessions += s;
      if (Math.max(j, c, s) < PURGE_BATCH) return total;
    }
  }

  async counts(): Promise<StoreCounts> {
    const v = ((await this.#script('tacitCounts', [])) as Arg[]).map(Number);
    return {
      signingKeys: v[0]!,
      enrollmentCodes: v[1]!,
      usedEnrollmentCodes: v[2]!,
      devices: v[3]!,
      revokedDevices: v[4]!,
      sessions: v[5]!,
      boundSessions: v[6]!,
      attestations: v[7]!,
      jtis: v[8]!,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
