-- Whether a queue is paused, since when and by whom. KEYS[1] the queue's meta hash, ARGV[1] now
-- (ms). A queue paused without Sluice (BullMQ's own pause) gets its paused_at here, once, so every
-- pod counts from the same moment. Returns {paused (1 | 0), paused_at, paused_by}.
local s = redis.call('HMGET', KEYS[1], 'paused', QM.pausedAt, QM.pausedBy)
if not s[1] then return {0, '', ''} end
if not s[2] then
  redis.call('HSET', KEYS[1], QM.pausedAt, ARGV[1])
  s[2] = ARGV[1]
end
return {1, s[2], s[3] or ''}
