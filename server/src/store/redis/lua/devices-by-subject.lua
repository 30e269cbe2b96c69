-- Script `tacitDevicesBySubject`. KEYS: none (every key is built from the prefix).
-- ARGV[1] is the key prefix.
-- ARGV: 2 field (rp \\n subject). Flat list: jkt, createdAt, revokedAt or '', jwk.
local P = ARGV[1]
local field = ARGV[2]
local out = {}
for _, jkt in ipairs(redis.call('SMEMBERS', P .. 'subj:' .. field)) do
  local created = redis.call('HGET', P .. 'dev:' .. jkt, field)
  if created then
    table.insert(out, jkt)
    table.insert(out, created)
    table.insert(out, redis.call('HGET', P .. 'devrev:' .. jkt, field) or '')
    table.insert(out, redis.call('GET', P .. 'jwk:' .. jkt) or '')
  end
end
return out
