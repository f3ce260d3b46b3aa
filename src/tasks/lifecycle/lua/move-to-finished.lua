-- Epilogue of BullMQ's moveToFinished: runs only when BullMQ accepted the run's lock token.
-- ARGV[1] job id, ARGV[2] timestamp, ARGV[5] 'completed' | 'failed', ARGV[7] key prefix.
local rc = bullmq_body()
if type(rc) == 'number' and rc < 0 then return rc end
local qp, id, now = ARGV[7], ARGV[1], tonumber(ARGV[2])
local jk = KEYS[12]
local to = ARGV[5]
if to == 'failed' and redis.call('HEXISTS', jk, F.cancelRequestedAt) == 1 then to = 'cancelled' end
sl_finalize(qp, jk, id, to, now)
return sl_on_activated(qp, rc, now)
