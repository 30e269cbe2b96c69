-- Script `tacitPurgeExpired`. KEYS: none (every key is built from the prefix).
-- ARGV[1] is the key prefix.
-- ARGV: 2 jtis, 3 codes, 4 sessions (cutoffs), 5 batch size.
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
return {#jtis, #codes, #sessions}
