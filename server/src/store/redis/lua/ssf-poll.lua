-- Script `tacitSsfPoll`: SsfStore.poll. Removes the acknowledged events, then answers up to
-- max of the rest (none unless the stream is enabled) and whether more wait.
-- ARGV: 2 streamId, 3 max, 4 ack count, then the acknowledged jtis.
-- Answer: {more (0|1), then jti, set, createdAt per event}.
local P = ARGV[1]
local id = ARGV[2]
local json = redis.call('HGET', P .. 'ssf:streams', id)
if not json then return {0} end
for i = 5, 4 + tonumber(ARGV[4]) do
  if redis.call('ZREM', P .. 'ssf:q:' .. id, ARGV[i]) == 1 then
    redis.call('DEL', P .. 'ssf:ev:' .. id .. ':' .. ARGV[i])
  end
end
if cjson.decode(json).status ~= 'enabled' then return {0} end
local max = tonumber(ARGV[3])
local jtis = redis.call('ZRANGE', P .. 'ssf:q:' .. id, 0, max)
local out = {#jtis > max and 1 or 0}
for i = 1, math.min(#jtis, max) do
  local f = redis.call('HMGET', P .. 'ssf:ev:' .. id .. ':' .. jtis[i], 'set', 'createdAt')
  for _, v in ipairs({jtis[i], f[1], f[2]}) do table.insert(out, v) end
end
return out
