-- Script `tacitCounts`. KEYS: none (every key is built from the prefix).
-- ARGV[1] is the key prefix.
local P = ARGV[1]
local c = redis.call('HMGET', P .. 'counts', 'usedEnrollmentCodes', 'devices', 'revokedDevices',
  'boundSessions', 'attestations')
return {redis.call('HLEN', P .. 'keys'), redis.call('ZCARD', P .. 'codes'), c[1] or '0',
  c[2] or '0', c[3] or '0', redis.call('ZCARD', P .. 'sessions'), c[4] or '0', c[5] or '0',
  redis.call('ZCARD', P .. 'jtis')}
