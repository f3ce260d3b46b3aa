-- Epilogue of BullMQ's moveJobFromActiveToWait: a worker shutting down puts a task back, and
-- that run does not count as started. ARGV[3] job key.
local rc = bullmq_body(KEYS, ARGV)
if type(rc) == 'number' and rc < 0 then return rc end
local jk = ARGV[3]
redis.call('HSET', jk, F.status, 'pending')
redis.call('HINCRBY', jk, 'ats', -1)
redis.call('HDEL', jk, 'processedOn')
return rc
