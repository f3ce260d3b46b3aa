-- Epilogue of BullMQ's moveToFinished: runs only when BullMQ accepted the run's lock token.
-- ARGV[1] job id, ARGV[2] timestamp, ARGV[5] 'completed' | 'failed', ARGV[7] key prefix.
local rc = bullmq_body(KEYS, ARGV)
if type(rc) == 'number' and rc < 0 then return rc end
local qp, now = ARGV[7], tonumber(ARGV[2])
local jk = KEYS[12]
local f = sl_fields(jk)
local to = ARGV[5]
if to == 'failed' and f[4] then to = 'cancelled' end
sl_finalize(qp, jk, to, now, f)
return sl_on_activated(qp, rc, now)
