-- Submission: BullMQ's add script (any of its three variants) with Sluice's prologue and
-- epilogue, as one function of its KEYS and ARGV; add-one.lua and add-many.lua call it, each in
-- one atomic script. After BullMQ's three arguments come Sluice's:
-- ARGV[4] key prefix, ARGV[5] job id, ARGV[6] task name, ARGV[7] timestamp (ms),
-- ARGV[8] idempotency fingerprint or '', ARGV[9] retention (s), ARGV[10] the submitting key's
-- label or '', ARGV[11] the completion webhook's URL or ''.
-- Returns {1, score} when created, {0, fingerprint, status} when the id exists (idempotent retry),
-- {code} when BullMQ refused.

-- The list position of the queue's newest task, read once per script: one script may add a run
-- of tasks (add-many.lua), all of one queue.
local sl_last_pos

-- A new task's list position: its submission milliseconds × 4096, or one past the newest task's
-- when that is as high already (several tasks in one millisecond, a batch's tasks sharing theirs,
-- or an API pod whose clock is behind). Unique per queue, in the order of submission, and exact in
-- a double until 2039. Lists page by it across queues; bulk cancel's submitted_before compares it
-- with milliseconds × 4096.
local function sl_next_pos(qp, ms)
  if not sl_last_pos then
    local newest = redis.call('ZREVRANGE', sl_idx(qp, nil), 0, 0, 'WITHSCORES')
    sl_last_pos = tonumber(newest[2]) or 0
  end
  sl_last_pos = math.max(ms * 4096, sl_last_pos + 1)
  return sl_last_pos
end

local function sl_add(KEYS, ARGV)
  local qp, id, name = ARGV[4], ARGV[5], ARGV[6]
  local jk = qp .. id
  -- Only an idempotent submission can name an existing job (its id derives from the key); a random
  -- id never does, and BullMQ's own add would leave an existing job alone anyway.
  if ARGV[8] ~= '' then
    local e = redis.call('HMGET', jk, F.fingerprint, F.status, 'finishedOn', 'name')
    if e[4] then
      if not (e[2] and FINAL[e[2]] and e[3] and tonumber(e[3]) + tonumber(ARGV[9]) * 1000 <= tonumber(ARGV[7])) then
        return {0, e[1] or '', e[2] or ''}
      end
      -- Past its retention but not reaped yet: gone for the API, so its key is free again.
      sl_unindex(qp, id, e[4])
      redis.call('DEL', jk, jk .. ':logs')
      redis.call('ZREM', qp .. 'completed', id)
      redis.call('ZREM', qp .. 'failed', id)
    end
  end
  local rc = bullmq_body(KEYS, ARGV)
  if type(rc) == 'number' and rc < 0 then return {rc} end
  -- The queue's count of tasks ever submitted (the metrics' total).
  redis.call('INCR', qp .. SK.seq)
  local score = string.format('%.0f', sl_next_pos(qp, tonumber(ARGV[7])))
  local fields = {F.status, 'pending'}
  if ARGV[8] ~= '' then fields[#fields + 1] = F.fingerprint; fields[#fields + 1] = ARGV[8] end
  if ARGV[10] ~= '' then fields[#fields + 1] = F.submittedBy; fields[#fields + 1] = ARGV[10] end
  if ARGV[11] ~= '' then fields[#fields + 1] = F.callbackUrl; fields[#fields + 1] = ARGV[11] end
  redis.call('HSET', jk, unpack(fields))
  redis.call('ZADD', sl_idx(qp, nil), score, id)
  redis.call('ZADD', sl_idx(qp, name), score, id)
  return {1, score}
end
