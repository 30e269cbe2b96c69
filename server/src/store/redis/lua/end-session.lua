-- Action `tacitEndSession` of batch.lua (its body: defines check(), apply(out), optionally extra()).
-- A(1) sid, A(2) now
local key = P .. 'sess:' .. A(1)
local function check()
  if redis.call('EXISTS', key) == 0 then return {'no'} end
  return {'ok'}
end
local function apply(out) redis.call('HSETNX', key, 'endedAt', A(2)) end
