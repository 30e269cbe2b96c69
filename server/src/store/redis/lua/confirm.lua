-- Action `tacitConfirm` of batch.lua: read() answers {'ok'} when it applies; apply() writes.
-- Compare-and-set: read() implements rules.ts `isLive` (exists, not ended, unexpired).
-- A(1) sid, A(2) now
local key = P .. 'sess:' .. A(1)
local function read()
  local s = redis.call('HMGET', key, 'sid', 'endedAt', 'expiresAt')
  if not s[1] or s[2] or tonumber(s[3]) <= tonumber(A(2)) then return {'no'} end
  return {'ok'}
end
local function apply() redis.call('HSET', key, 'confirmedAt', A(2)) end
