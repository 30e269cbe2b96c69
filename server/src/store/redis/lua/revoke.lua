-- Action `tacitRevoke` of batch.lua. Which enrollments are revoked is rules.ts
-- `revocationTargets`, decided in Node on what read() answers; apply() revokes them (the batch
-- runs it only if read() answers the same).
-- A(1) jkt, A(2) now.
-- read(): the key's enrollments (see enrollments() in batch.lua).
-- apply: D(1) … D(dn) the enrollment fields (rp \n subject) to revoke.
local function read() return enrollments(A(1), {}) end
local function apply(D, dn)
  for k = 1, dn do redis.call('HSET', P .. 'devrev:' .. A(1), D(k), A(2)) end
  if dn > 0 then redis.call('HINCRBY', P .. 'counts', 'revokedDevices', dn) end
end
