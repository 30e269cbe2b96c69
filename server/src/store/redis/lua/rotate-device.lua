-- Action `tacitRotateDevice` of batch.lua (its body: defines check(), apply(out), optionally extra()).
-- A(1) old jkt, A(2) new jkt, A(3) new jwk JSON, A(4) jti.jkt, A(5) jti, A(6) jti expiry,
-- A(7) jti ttl, A(8) now. Outcome: 'ok', n, then n pairs (field, createdAt), then sids.
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
end
