-- Script `tacitRotateKey`. KEYS: none (every key is built from the prefix).
-- ARGV[1] is the key prefix.
-- Implements rules.ts `newestActiveKid` (atomically with the rotation: no read first).
-- ARGV: 2 expected kid, 3 next kid, 4 next JSON, 5 next createdAt, 6 now
local P = ARGV[1]
local created = redis.call('HGETALL', P .. 'keys:created')
local newest_kid, newest_at = nil, nil
local active = {}
for i = 1, #created, 2 do
  local kid, at = created[i], tonumber(created[i + 1])
  if redis.call('HEXISTS', P .. 'keys:retired', kid) == 0 then
    table.insert(active, kid)
    if not newest_kid or at > newest_at or (at == newest_at and kid > newest_kid) then
      newest_kid, newest_at = kid, at
    end
  end
end
if newest_kid ~= ARGV[2] then return {'no'} end
table.sort(active)
for _, kid in ipairs(active) do redis.call('HSET', P .. 'keys:retired', kid, ARGV[6]) end
if redis.call('HSETNX', P .. 'keys', ARGV[3], ARGV[4]) == 1 then
  redis.call('HSET', P .. 'keys:created', ARGV[3], ARGV[5])
end
return {'ok', active}
