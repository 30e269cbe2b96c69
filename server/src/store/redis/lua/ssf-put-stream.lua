-- Script `tacitSsfPutStream`: SsfStore.putStream; a disabled stream loses its queued events.
-- ARGV: 2 streamId, 3 stream JSON, 4 status
local P = ARGV[1]
local id = ARGV[2]
redis.call('HSET', P .. 'ssf:streams', id, ARGV[3])
if ARGV[4] == 'disabled' then
  for _, jti in ipairs(redis.call('ZRANGE', P .. 'ssf:q:' .. id, 0, -1)) do
    redis.call('DEL', P .. 'ssf:ev:' .. id .. ':' .. jti)
  end
  redis.call('DEL', P .. 'ssf:q:' .. id)
end
return 1
