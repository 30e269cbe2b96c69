-- Script `tacitDevicesByKey`. KEYS: none (every key is built from the prefix).
-- ARGV[1] is the key prefix.
-- ARGV: 2 jkt
local P = ARGV[1]
return {redis.call('HGETALL', P .. 'dev:' .. ARGV[2]),
  redis.call('HGETALL', P .. 'devrev:' .. ARGV[2]),
  redis.call('GET', P .. 'jwk:' .. ARGV[2]) or ''}
