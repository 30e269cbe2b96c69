-- Script `tacitSsfClaim`: SsfStore.claimPush. Leases due, unleased events of enabled push
-- streams to one owner, so among several instances one delivers each event at a time.
-- ARGV: 2 now, 3 owner, 4 leaseUntil, 5 limit
-- Answer: flat list of streamId, jti, set, createdAt, attempts, endpoint, authorization.
local P = ARGV[1]
local now, limit = tonumber(ARGV[2]), tonumber(ARGV[5])
local out, n = {}, 0
local streams = redis.call('HGETALL', P .. 'ssf:streams')
for s = 1, #streams, 2 do
  if n >= limit then break end
  local id, st = streams[s], cjson.decode(streams[s + 1])
  if st.status == 'enabled' and st.deliveryMethod == 'push' and type(st.endpointUrl) == 'string' then
    local auth = type(st.authorizationHeader) == 'string' and st.authorizationHeader or ''
    for _, jti in ipairs(redis.call('ZRANGE', P .. 'ssf:q:' .. id, 0, -1)) do
      if n >= limit then break end
      local ev = P .. 'ssf:ev:' .. id .. ':' .. jti
      local f = redis.call('HMGET', ev, 'set', 'createdAt', 'attempts', 'next', 'lease')
      if f[1] and tonumber(f[4]) <= now and tonumber(f[5]) <= now then
        redis.call('HSET', ev, 'lease', ARGV[4], 'owner', ARGV[3])
        n = n + 1
        for _, v in ipairs({id, jti, f[1], f[2], f[3], st.endpointUrl, auth}) do
          table.insert(out, v)
        end
      end
    end
  end
end
return out
