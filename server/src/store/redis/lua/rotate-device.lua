-- Action `tacitRotateDevice` of batch.lua. The decision is rules.ts `decideDeviceRotation`,
-- taken in Node on what read() answers; apply() writes it (the batch runs it only if read()
-- answers the same).
-- A(1) old jkt, A(2) new jkt, A(3) new jwk JSON, A(4) jti.jkt, A(5) jti, A(6) jti expiry,
-- A(7) jti ttl, A(8) now.
-- read(): jti seen ('1'|'0'), new key enrolled ('1'|'0'), n, the old key's n enrollments
-- (see enrollments() in batch.lua), then per session indexed under the old key, by sid: sid,
-- deviceJkt, endedAt, expiresAt (each '' when absent).
-- apply: D(1) k, D(2) … D(k + 1) the enrollment fields to move, D(k + 2) … D(dn) the sids to
-- re-bind.
local old_key = P .. 'keysess:' .. A(1)
local function read()
  local out = {jti_seen(A(4), A(5)) and '1' or '0',
    redis.call('EXISTS', P .. 'dev:' .. A(2)) == 1 and '1' or '0', '0'}
  enrollments(A(1), out)
  out[3] = tostring((#out - 3) / 3)
  local sids = redis.call('SMEMBERS', old_key)
  table.sort(sids)
  for _, sid in ipairs(sids) do
    local s = redis.call('HMGET', P .. 'sess:' .. sid, 'deviceJkt', 'endedAt', 'expiresAt')
    table.insert(out, sid)
    table.insert(out, s[1] or '')
    table.insert(out, s[2] or '')
    table.insert(out, s[3] or '')
  end
  return out
end
local function apply(D, dn)
  remember_jti(A(4), A(5), A(6), A(7))
  local k = tonumber(D(1))
  for i = 2, k + 1 do
    local field = D(i)
    redis.call('HSET', P .. 'dev:' .. A(2), field, A(8))
    redis.call('SADD', P .. 'subj:' .. field, A(2))
    redis.call('HSET', P .. 'devrev:' .. A(1), field, A(8))
  end
  redis.call('SET', P .. 'jwk:' .. A(2), A(3))
  redis.call('HINCRBY', P .. 'counts', 'devices', k)
  redis.call('HINCRBY', P .. 'counts', 'revokedDevices', k)
  for i = k + 2, dn do
    local sid = D(i)
    redis.call('HSET', P .. 'sess:' .. sid, 'deviceJkt', A(2))
    redis.call('SMOVE', old_key, P .. 'keysess:' .. A(2), sid)
  end
end
