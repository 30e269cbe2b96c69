-- Script `tacitSsfDeleteStream`: SsfStore.deleteStream, with its queue and dead letters.
-- ARGV: 2 streamId
local P = ARGV[1]
local id = ARGV[2]
if redis.call('HDEL', P .. 'ssf:streams', id) == 0 then return 0 end
for _, jti in ipairs(redis.call('ZRANGE', P .. 'ssf:q:' .. id, 0, -1)) do
  redis.call('DEL', P .. 'ssf:ev:' .. id .. ':' .. jti)
end
redis.call('DEL', P .. 'ssf:q:' .. id, P .. 'ssf:dead:' .. id, P .. 'ssf:deadq:' .. id)
return 1
