-- Action `tacitBind` of batch.lua (its body: defines check(), apply(out), optionally extra()).
-- A(1) sid, A(2) jkt, A(3) jti.jkt, A(4) jti, A(5) jti expiry, A(6) jti ttl, A(7) now
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
extra = function() return redis.call('HGETALL', key) end
