-- Action `tacitEndSession` of batch.lua: read() answers {'ok'} when it applies; apply() writes.
-- Ends a known session (idempotent: the first `endedAt` stays).
-- A(1) sid, A(2) now
local key = P .. 'sess:' .. A(1)
local function read()
  if redis.call('EXISTS', key) == 0 then return {'no'} end
  return {'ok'}
end
local function apply() redis.call('HSETNX', key, 'endedAt', A(2)) end
