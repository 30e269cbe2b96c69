-- Script `tacitAddKey`. KEYS: none (every key is built from the prefix).
-- ARGV[1] is the key prefix.
-- ARGV: 2 kid, 3 record JSON, 4 createdAt, 5 retiredAt or ''
local P = ARGV[1]
if redis.call('HSETNX', P .. 'keys', ARGV[2], ARGV[3]) == 1 then
  redis.call('HSET', P .. 'keys:created', ARGV[2], ARGV[4])
  if ARGV[5] ~= '' then redis.call('HSET', P .. 'keys:retired', ARGV[2], ARGV[5]) end
end
return 1
