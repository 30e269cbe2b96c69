-- Action `tacitUseJti` of batch.lua (its body: defines check(), apply(out), optionally extra()).
-- A(1) jkt, A(2) jti, A(3) expiry, A(4) ttl
local function check()
  if jti_seen(A(1), A(2)) then return {'replay'} end
  return {'ok'}
end
local function apply(out) remember_jti(A(1), A(2), A(3), A(4)) end
