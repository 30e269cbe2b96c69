-- Action `tacitUseJti` of batch.lua: read() answers {'ok'} when it applies; apply() writes.
-- A `jti` is spent once ({'replay'} if seen).
-- A(1) jkt, A(2) jti, A(3) expiry, A(4) ttl
local function read()
  if jti_seen(A(1), A(2)) then return {'replay'} end
  return {'ok'}
end
local function apply() remember_jti(A(1), A(2), A(3), A(4)) end
