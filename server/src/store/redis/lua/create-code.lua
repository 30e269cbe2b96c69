-- Action `tacitCreateCode` of batch.lua: read() answers {'ok'} when it applies; apply() writes.
-- Stores the code unless that hash exists ({'exists'}).
-- A(1) codeHash, A(2) rp, A(3) subject, A(4) createdAt, A(5) expiresAt, A(6) usedAt or ''
local key = P .. 'code:' .. A(1)
local function read()
  if redis.call('EXISTS', key) == 1 then return {'exists'} end
  return {'ok'}
end
local function apply()
  redis.call('HSET', key, 'rp', A(2), 'subject', A(3), 'createdAt', A(4), 'expiresAt', A(5))
  if A(6) ~= '' then
    redis.call('HSET', key, 'usedAt', A(6))
    redis.call('HINCRBY', P .. 'counts', 'usedEnrollmentCodes', 1)
  end
  redis.call('ZADD', P .. 'codes', A(5), A(1))
end
