-- Pauses or resumes a queue: BullMQ's pause script, which sets or clears the meta hash's `paused`
-- (BullMQ's moveToActive and every fetch-next refuse to take a job while it is set; running jobs
-- finish), and Sluice's record of when and by whom, in the same hash, for every pod to read.
-- KEYS as BullMQ's pause: KEYS[3] the meta hash. ARGV[1] 'paused' | 'resumed', ARGV[2] emit the
-- event ('1' | '0'), ARGV[3] now (ms), ARGV[4] the key's label or ''.
-- Returns {jobs left in a legacy paused list (resume again), was paused (1 | 0), paused_at, paused_by}.
local meta = KEYS[3]
local was = redis.call('HEXISTS', meta, 'paused') == 1 and 1 or 0
if ARGV[1] == 'paused' then
  -- Pausing a paused queue changes nothing, not even when it was paused.
  if was == 0 then
    bullmq_body(KEYS, ARGV)
    redis.call('HSET', meta, QM.pausedAt, ARGV[3], QM.pausedBy, ARGV[4])
  end
  redis.call('HSETNX', meta, QM.pausedAt, ARGV[3])
  local s = redis.call('HMGET', meta, QM.pausedAt, QM.pausedBy)
  return {0, was, s[1], s[2] or ''}
end
local left = bullmq_body(KEYS, ARGV)
redis.call('HDEL', meta, QM.pausedAt, QM.pausedBy)
return {left, was, '', ''}
