-- Action `tacitAttest` of batch.lua: read() answers {'ok'} when it applies; apply() writes.
-- Compare-and-set, decided here (not in Node: that would cost the attestation a read first).
-- read() implements rules.ts `attestationApplies`: bound to the expected key, at the expected
-- lastSeq/lastHash, not ended, unexpired ({'ok'}, else {'no'}).
-- A(1) sid, A(2) seq, A(3) attestation JSON, A(4) expected jkt, A(5) expected lastSeq,
-- A(6) expected lastHash, A(7) now, A(8) lastSeq, A(9) lastHash, A(10) attestations,
-- A(11) lastAttestationAt, A(12) lastState, A(13) ewma or '', A(14) progress,
-- A(15) signals JSON or '' (none carried: the stored ones stay)
local key = P .. 'sess:' .. A(1)
local function read()
  local s = redis.call('HMGET', key, 'deviceJkt', 'lastSeq', 'lastHash', 'endedAt', 'expiresAt')
  if not s[1] or s[1] ~= A(4) or s[2] ~= A(5) or s[3] ~= A(6) or s[4]
    or tonumber(s[5]) <= tonumber(A(7)) then
    return {'no'}
  end
  return {'ok'}
end
local function apply()
  redis.call('HSET', key, 'lastSeq', A(8), 'lastHash', A(9), 'attestations', A(10),
    'lastAttestationAt', A(11), 'lastState', A(12), 'progress', A(14))
  if A(13) == '' then
    redis.call('HDEL', key, 'ewma')
  else
    redis.call('HSET', key, 'ewma', A(13))
  end
  if A(15) ~= '' then
    redis.call('HSET', key, 'signals', A(15))
  end
  redis.call('HSET', P .. 'att:' .. A(1), A(2), A(3))
  redis.call('HINCRBY', P .. 'counts', 'attestations', 1)
end
