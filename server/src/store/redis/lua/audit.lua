-- Action `tacitAudit` of batch.lua (its body: defines check(), apply(out), optionally extra()).
-- Only the audit records.
local function check() return {'ok'} end
local function apply(out) end
