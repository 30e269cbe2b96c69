-- Script `tacitListKeys`. KEYS: none (every key is built from the prefix).
-- ARGV[1] is the key prefix.
local P = ARGV[1]
return {redis.call('HGETALL', P .. 'keys'), redis.call('HGETALL', P .. 'keys:retired')}
