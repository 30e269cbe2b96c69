-- Script `tacitSsfSettle`: SsfStore.settlePush, only while the owner holds the lease.
-- ARGV: 2 streamId, 3 jti, 4 owner, 5 kind (delivered|retry|dead), 6 at, 7 error
local P = ARGV[1]
local ev = P .. 'ssf:ev:' .. ARGV[2] .. ':' .. ARGV[3]
local f = redis.call('HMGET', ev, 'owner', 'attempts')
if not f[1] or f[1] ~= ARGV[4] then return 0 end
if ARGV[5] == 'retry' then
  redis.call('HSET', ev, 'attempts', tonumber(f[2]) + 1, 'next', ARGV[6], 'lease', 0, 'owner', '')
  return 1
end
redis.call('DEL', ev)
redis.call('ZREM', P .. 'ssf:q:' .. ARGV[2], ARGV[3])
if ARGV[5] == 'dead' then
  redis.call('HSET', P .. 'ssf:dead:' .. ARGV[2], ARGV[3],
    cjson.encode({attempts = tonumber(f[2]) + 1, error = ARGV[7], failedAt = tonumber(ARGV[6])}))
  redis.call('ZADD', P .. 'ssf:deadq:' .. ARGV[2], tonumber(ARGV[6]), ARGV[3])
end
return 1
