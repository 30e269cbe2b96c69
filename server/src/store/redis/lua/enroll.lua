-- Action `tacitEnroll` of batch.lua. The decision is rules.ts `decideEnrollment`, taken in Node
-- on what read() answers; apply() writes it (the batch runs it only if read() answers the same).
-- A(1) codeHash, A(2) jkt, A(3) jwk JSON, A(4) jti.jkt, A(5) jti, A(6) jti expiry,
-- A(7) jti ttl, A(8) now.
-- read(): jti seen ('1'|'0'), code known ('1'|'0'), its rp, subject, expiresAt, usedAt (or ''),
-- then the key's enrollments (see enrollments() in batch.lua).
-- apply: D(1) '1' to create the enrollment D(2) rp / D(3) subject, '0' if it exists.
local code_key = P .. 'code:' .. A(1)
local function read()
  local out = {jti_seen(A(4), A(5)) and '1' or '0'}
  local c = redis.call('HMGET', code_key, 'rp', 'subject', 'expiresAt', 'usedAt')
  if c[1] then
    table.insert(out, '1')
    table.insert(out, c[1])
    table.insert(out, c[2])
    table.insert(out, c[3])
    table.insert(out, c[4] or '')
  else
    for _ = 1, 5 do table.insert(out, '') end
    out[2] = '0'
  end
  return enrollments(A(2), out)
end
local function apply(D)
  redis.call('HSET', code_key, 'usedAt', A(8))
  redis.call('HINCRBY', P .. 'counts', 'usedEnrollmentCodes', 1)
  remember_jti(A(4), A(5), A(6), A(7))
  if D(1) == '1' then
    local field = D(2) .. '\n' .. D(3)
    redis.call('HSET', P .. 'dev:' .. A(2), field, A(8))
    redis.call('SET', P .. 'jwk:' .. A(2), A(3))
    redis.call('SADD', P .. 'subj:' .. field, A(2))
    redis.call('HINCRBY', P .. 'counts', 'devices', 1)
  end
end
