-- Action `tacitRevoke` of batch.lua (its body: defines check(), apply(out), optionally extra()).
-- A(1) jkt, A(2) now, A(3) field (rp \\n subject) or '' for every enrollment
local dev_key = P .. 'dev:' .. A(1)
local rev_key = P .. 'devrev:' .. A(1)
local function targets()
  local fields = {}
  local candidates = A(3) ~= '' and {A(3)} or redis.call('HKEYS', dev_key)
  for _, f in ipairs(candidates) do
    if redis.call('HEXISTS', dev_key, f) == 1 and redis.call('HEXISTS', rev_key, f) == 0 then
      table.insert(fields, f)
    end
  end
  return fields
end
local function check() return {'ok', tostring(#targets())} end
local function apply(out)
  local fields = targets()
  for _, f in ipairs(fields) do redis.call('HSET', rev_key, f, A(2)) end
  if #fields > 0 then redis.call('HINCRBY', P .. 'counts', 'revokedDevices', #fields) end
end
