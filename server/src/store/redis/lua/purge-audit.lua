-- Script `tacitPurgeAudit`. KEYS: none (every key is built from the prefix).
-- ARGV[1] is the key prefix.
-- ARGV: 2 before (ISO 8601), 3 batch size. Deletes the longest old prefix of at most
-- `batch` records. Answers {records, anchor seq, anchor hash}.
local P = ARGV[1]
local items = redis.call('ZRANGE', P .. 'audit', 0, tonumber(ARGV[3]) - 1, 'WITHSCORES')
local n, last = 0, nil
for i = 1, #items, 2 do
  local ts = string.match(items[i], '^{"seq":%d+,"ts":"([^"]*)"')
  if not ts or ts >= ARGV[2] then break end
  n = n + 1
  last = i
end
if n == 0 then
  local a = redis.call('HMGET', P .. 'audit:anchor', 'seq', 'hash')
  return {0, a[1] or '', a[2] or ''}
end
local seq = items[last + 1]
local hash = string.match(items[last], '"hash":"([^"]*)"}$') or ''
redis.call('ZREMRANGEBYRANK', P .. 'audit', 0, n - 1)
redis.call('HSET', P .. 'audit:anchor', 'seq', seq, 'hash', hash)
return {n, seq, hash}
