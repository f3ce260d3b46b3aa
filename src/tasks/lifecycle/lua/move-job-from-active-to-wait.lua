-- Epilogue of BullMQ's moveJobFromActiveToWait: a worker shutting down puts a task back, and
-- that run does not count as started. ARGV[1] job id, ARGV[3] job key.
local rc = bullmq_body()
if type(rc) == 'number' and rc < 0 then return rc end
local id, jk = ARGV[1], ARGV[3]
local qp = string.sub(jk, 1, #jk - #id)
local f = redis.call('HMGET', jk, F.status, 'name', F.score)
sl_reindex(qp, id, f[2], f[3], f[1], 'pending')
redis.call('HSET', jk, F.status, 'pending')
redis.call('HINCRBY', jk, 'ats', -1)
redis.call('HDEL', jk, 'processedOn')
redis.call('ZREM', qp .. SK.running, id)
return rc
