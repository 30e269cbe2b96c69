-- tacitBatch: runs a list of actions in order, in one script call (so no other client's
-- command lands between two of them, and Redis fsyncs once for all of them with
-- `appendfsync always`).
--
-- ARGV: 1 prefix, 2 number of actions, then per action: name, mode (`probe` | `commit`),
-- expected outcome (`*`: any), expected head seq/hash (before its records), new head seq/hash
-- (after them), number n of audit records, number m of arguments, the n records, the m
-- arguments.
--
-- Each action on its own is all-or-nothing, as if it were its own script: a failed check
-- answers `done` with the outcome and writes nothing; a probe, or an outcome other than the
-- expected one, answers `outcome`; records assuming another head answer `head` (both write
-- nothing); otherwise the action, its records and the new head are written, `done`. The head
-- is written after each action, so the chain stays consistent even if a later action of the
-- batch fails with an error (Redis does not roll back a script). Answers the head after the
-- batch and one `{status, outcome, extra}` per action.
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
local ACTIONS = {}
-- @actions (the action files, each wrapped into ACTIONS[name] = function(A) ... end)
local h = redis.call('HMGET', P .. 'audit:head', 'seq', 'hash')
local hs, hh = h[1] or '0', h[2] or string.rep('0', 64)
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
  elseif mode == 'probe' or (expect ~= '*' and expect ~= table.concat(out, '\n')) then
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
