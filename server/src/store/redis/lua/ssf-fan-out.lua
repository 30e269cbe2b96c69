-- Script `tacitSsfFanOut`: SsfStore.fanOut. Compare-and-set on the cursor, then queues the
-- events of streams that exist and are not disabled, stores the session states, moves the
-- cursor: all or nothing.
-- ARGV: 2 expected cursor ('' = never set), 3 new cursor, 4 event count, then per event
-- streamId, jti, set, createdAt; then the state count, then per state sid, JSON.
local P = ARGV[1]
local current = redis.call('GET', P .. 'ssf:cursor') or ''
if current ~= ARGV[2] then return 0 end
local i = 5
for _ = 1, tonumber(ARGV[4]) do
  local stream, jti, set, created = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  i = i + 4
  local json = redis.call('HGET', P .. 'ssf:streams', stream)
  if json and cjson.decode(json).status ~= 'disabled' then
    local ev = P .. 'ssf:ev:' .. stream .. ':' .. jti
    if redis.call('EXISTS', ev) == 0 then
      redis.call('HSET', ev, 'set', set, 'createdAt', created, 'attempts', 0, 'next', created,
        'lease', 0, 'owner', '')
      redis.call('ZADD', P .. 'ssf:q:' .. stream, redis.call('INCR', P .. 'ssf:n'), jti)
    end
  end
end
local states = tonumber(ARGV[i])
i = i + 1
for _ = 1, states do
  redis.call('HSET', P .. 'ssf:subjects', ARGV[i], ARGV[i + 1])
  i = i + 2
end
redis.call('SET', P .. 'ssf:cursor', ARGV[3])
return 1
