-- Retention: removes finished tasks whose TASK_RESULT_EXPIRES has passed, job and index entries
-- together. KEYS[1] BullMQ's completed set. ARGV[1] key prefix, ARGV[2] now (ms), ARGV[3] the
-- queue's retention (s), ARGV[4] batch size. Returns how many tasks were removed.
local qp, now, ttl, batch = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local removed = 0
for _, set in ipairs({KEYS[1], qp .. 'failed'}) do
  local due = redis.call('ZRANGEBYSCORE', set, '-inf', now - ttl * 1000, 'LIMIT', 0, batch)
  for _, id in ipairs(due) do
    local jk = qp .. id
    sl_unindex(qp, id, redis.call('HGET', jk, 'name'))
    redis.call('DEL', jk, jk .. ':logs')
    redis.call('ZREM', set, id)
    -- A webhook still owed when its task expires is dropped with it.
    redis.call('ZREM', qp .. SK.callbacks, id)
    removed = removed + 1
  end
end
return removed
