-- Script `tacitSsfEnqueue`: SsfStore.enqueue (a stream that exists and is not disabled).
-- ARGV: 2 streamId, 3 jti, 4 set, 5 createdAt
local P = ARGV[1]
local json = redis.call('HGET', P .. 'ssf:streams', ARGV[2])
if not json or cjson.decode(json).status == 'disabled' then return 0 end
local ev = P .. 'ssf:ev:' .. ARGV[2] .. ':' .. ARGV[3]
if redis.call('EXISTS', ev) == 1 then return 0 end
redis.call('HSET', ev, 'set', ARGV[4], 'createdAt', ARGV[5], 'attempts', 0, 'next', ARGV[5],
  'lease', 0, 'owner', '')
redis.call('ZADD', P .. 'ssf:q:' .. ARGV[2], redis.call('INCR', P .. 'ssf:n'), ARGV[3])
return 1
