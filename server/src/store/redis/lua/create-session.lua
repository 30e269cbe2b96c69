-- Action `tacitCreateSession` of batch.lua: read() answers {'ok'} when it applies; apply() writes.
-- Creates the session unless that sid exists ({'exists'}).
-- A(1) sid, A(2) rp, A(3) subject, A(4) challenge, A(5) createdAt, A(6) expiresAt
local key = P .. 'sess:' .. A(1)
local function read()
  if redis.call('EXISTS', key) == 1 then return {'exists'} end
  return {'ok'}
end
local function apply()
  redis.call('HSET', key, 'sid', A(1), 'rp', A(2), 'subject', A(3), 'challenge', A(4),
    'createdAt', A(5), 'expiresAt', A(6), 'lastSeq', '0', 'lastHash', '', 'attestations', '0')
  redis.call('ZADD', P .. 'sessions', A(6), A(1))
end
