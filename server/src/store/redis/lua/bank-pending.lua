-- Script `tacitBankPending`. KEYS: none (every key is built from the prefix).
-- ARGV[1] is the key prefix.
-- ARGV: 2 idHash, 3 code or '' (clear), 4 issuedAt, 5 expiresAt
local P = ARGV[1]
local key = P .. 'bank:' .. ARGV[2]
if redis.call('EXISTS', key) == 0 then return 0 end
if ARGV[3] == '' then
  redis.call('HDEL', key, 'pendingCode', 'pendingCodeIssuedAt', 'pendingCodeExpiresAt')
else
  redis.call('HSET', key, 'pendingCode', ARGV[3], 'pendingCodeIssuedAt', ARGV[4],
    'pendingCodeExpiresAt', ARGV[5])
end
return 1
