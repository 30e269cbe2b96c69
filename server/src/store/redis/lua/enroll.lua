-- Action `tacitEnroll` of batch.lua (its body: defines check(), apply(out), optionally extra()).
-- A(1) codeHash, A(2) jkt, A(3) jwk JSON, A(4) jti.jkt, A(5) jti, A(6) jti expiry,
-- A(7) jti ttl, A(8) now, A(9) relying parties allowing shared devices ('*': all but
-- A(10)), A(10) those that do not (each a newline-separated list)
local code_key = P .. 'code:' .. A(1)
local dev_key = P .. 'dev:' .. A(2)
local rev_key = P .. 'devrev:' .. A(2)
local now = tonumber(A(8))
local function listed(list, rp)
  return string.find('\n' .. list .. '\n', '\n' .. rp .. '\n', 1, true) ~= nil
end
local function check()
  if jti_seen(A(4), A(5)) then return {'replay'} end
  local c = redis.call('HMGET', code_key, 'rp', 'subject', 'expiresAt', 'usedAt')
  if not c[1] or c[4] or tonumber(c[3]) <= now then return {'code'} end
  local field = c[1] .. '\n' .. c[2]
  local created = redis.call('HGET', dev_key, field)
  if created then
    if redis.call('HEXISTS', rev_key, field) == 1 then return {'revoked'} end
    return {'ok', '0', c[1], c[2], created}
  end
  if listed(A(10), c[1]) or not (listed(A(9), c[1]) or listed(A(9), '*')) then
    local prefix = c[1] .. '\n'
    for _, f in ipairs(redis.call('HKEYS', dev_key)) do
      if string.sub(f, 1, #prefix) == prefix and redis.call('HEXISTS', rev_key, f) == 0 then
        return {'shared'}
      end
    end
  end
  return {'ok', '1', c[1], c[2], A(8)}
end
local function apply(out)
  redis.call('HSET', code_key, 'usedAt', A(8))
  redis.call('HINCRBY', P .. 'counts', 'usedEnrollmentCodes', 1)
  remember_jti(A(4), A(5), A(6), A(7))
  if out[2] == '1' then
    local field = out[3] .. '\n' .. out[4]
    redis.call('HSET', dev_key, field, A(8))
    redis.call('SET', P .. 'jwk:' .. A(2), A(3))
    redis.call('SADD', P .. 'subj:' .. field, A(2))
    redis.call('HINCRBY', P .. 'counts', 'devices', 1)
  end
end
