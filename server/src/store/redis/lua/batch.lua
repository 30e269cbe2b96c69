-- tacitBatch: runs a list of actions in order, in one script call (so no other client's
-- command lands between two of them, and Redis fsyncs once for all of them with
-- `appendfsync always`). The group-commit engine (../group-commit.ts) builds its arguments.
--
-- KEYS: none (every key is built from the prefix, so not for Redis Cluster).
-- ARGV: 1 prefix, 2 number of actions, then per action: name, mode (`probe` | `commit`),
-- expected read (encoded by encode() below; commit only), expected head seq/hash (before its
-- records), new head seq/hash (after them), number n of audit records, number m of
-- arguments, number d of decision arguments, the n records, the m arguments, the d decision
-- arguments.
--
-- Each action is one of the action files, wrapped (by ../scripts.ts) into a function of its
-- arguments A(k) answering read, apply and extra: read() is the state the action's rule
-- decides on, as a list of strings (the rules themselves live in ../../rules.ts, except the
-- few compare-and-sets whose read() answers {'ok'} when they apply); apply(D, dn) writes the
-- decision Node took, D(k) being its decision arguments; extra() is data answered with it.
--
-- Each action on its own is all-or-nothing, as if it were its own script: a probe, or a read
-- other than the expected one, answers `read` (what it read: Node decides again); records
-- assuming another head answer `head`; both write nothing. Otherwise the action, its records
-- and the new head are written: `done`. The head is written after each action, so the chain
-- stays consistent even if a later action of the batch fails with an error (Redis does not
-- roll back a script). Answers the head after the batch and one `{status, read, extra}` per
-- action.
--
-- The genesis hash (64 zeros) is services/audit.ts GENESIS_HASH.
local P = ARGV[1]
local function remember_jti(jkt, jti, expires_at, ttl)
  redis.call('SET', P .. 'jti:' .. jkt .. ':' .. jti, '1', 'PX', ttl)
  redis.call('ZADD', P .. 'jtis', expires_at, jkt .. ':' .. jti)
end
local function jti_seen(jkt, jti)
  return redis.call('EXISTS', P .. 'jti:' .. jkt .. ':' .. jti) == 1
end
-- Appends to `out` the enrollments of key `jkt`, by field: field (rp \n subject), createdAt,
-- revokedAt ('' while not revoked). Answers `out`.
local function enrollments(jkt, out)
  local created = redis.call('HGETALL', P .. 'dev:' .. jkt)
  local fields = {}
  for i = 1, #created, 2 do fields[created[i]] = created[i + 1] end
  local sorted = {}
  for f in pairs(fields) do table.insert(sorted, f) end
  table.sort(sorted)
  for _, f in ipairs(sorted) do
    table.insert(out, f)
    table.insert(out, fields[f])
    table.insert(out, redis.call('HGET', P .. 'devrev:' .. jkt, f) or '')
  end
  return out
end
-- A read as one string (each item length-prefixed), to compare with the expected one.
local function encode(list)
  local parts = {}
  for k, s in ipairs(list) do parts[k] = #s .. ':' .. s end
  return table.concat(parts)
end
local ACTIONS = {}
-- @actions (the action files, each wrapped into ACTIONS[name] = function(A) ... end)
local h = redis.call('HMGET', P .. 'audit:head', 'seq', 'hash')
local hs, hh = h[1] or '0', h[2] or string.rep('0', 64)
local results = {}
local i = 3
for op = 1, tonumber(ARGV[2]) do
  local name, mode, expect = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local eseq, ehash, nseq, nhash = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  local n, m, dn = tonumber(ARGV[i + 7]), tonumber(ARGV[i + 8]), tonumber(ARGV[i + 9])
  local rec = i + 9
  local base = rec + n
  local dbase = base + m
  local read, apply, extra = ACTIONS[name](function(k) return ARGV[base + k] end)
  local got = read()
  if mode == 'probe' or encode(got) ~= expect then
    results[op] = {'read', got, extra()}
  elseif n > 0 and (hs ~= eseq or hh ~= ehash) then
    results[op] = {'head', got, extra()}
  else
    apply(function(k) return ARGV[dbase + k] end, dn)
    if n > 0 then
      for k = 1, n do redis.call('ZADD', P .. 'audit', tonumber(eseq) + k, ARGV[rec + k]) end
      hs, hh = nseq, nhash
      redis.call('HSET', P .. 'audit:head', 'seq', hs, 'hash', hh)
    end
    results[op] = {'done', got, extra()}
  end
  i = dbase + dn + 1
end
return {hs, hh, results}
