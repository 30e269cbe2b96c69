-- Action `tacitBind` of batch.lua. The decision is rules.ts `decideBinding`, taken in Node on
-- what read() answers; apply() writes it (the batch runs it only if read() answers the same).
-- A(1) sid, A(2) jkt, A(3) jti.jkt, A(4) jti, A(5) jti expiry, A(6) jti ttl, A(7) now.
-- read(): jti seen ('1'|'0'), session known ('1'|'0'), its endedAt, expiresAt, deviceJkt
-- (each '' when absent). extra(): the session hash.
-- apply: D(1) '1' to bind the session to A(2) now, '0' when it already is.
local key = P .. 'sess:' .. A(1)
local function read()
  local s = redis.call('HMGET', key, 'sid', 'endedAt', 'expiresAt', 'deviceJkt')
  return {jti_seen(A(3), A(4)) and '1' or '0', s[1] and '1' or '0', s[2] or '', s[3] or '',
    s[4] or ''}
end
local function apply(D)
  remember_jti(A(3), A(4), A(5), A(6))
  if D(1) == '1' then
    redis.call('HSET', key, 'deviceJkt', A(2), 'boundAt', A(7))
    redis.call('SADD', P .. 'keysess:' .. A(2), A(1))
    redis.call('HINCRBY', P .. 'counts', 'boundSessions', 1)
  end
end
extra = function() return redis.call('HGETALL', key) end
