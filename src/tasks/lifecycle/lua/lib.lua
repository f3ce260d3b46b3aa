-- Sluice's half of every task transition. Prepended to each script; the key suffixes and field
-- names (SK, F) and CANCELLED_REASON are generated from task-keys.ts and task-record.ts. `qp` is
-- BullMQ's key prefix of the task's queue (`<prefix>:{<queue>}:`), so every key used here is in the
-- queue's cluster slot. Every redis.call here is paid per task, so each one must earn its place.
local function sl_idx(qp, name)
  if name then return qp .. SK.idx .. ':name:' .. name end
  return qp .. SK.idx .. ':all'
end

local function sl_unindex(qp, id, name)
  redis.call('ZREM', sl_idx(qp, nil), id)
  if name then redis.call('ZREM', sl_idx(qp, name), id) end
end

local FINAL = { completed = true, failed = true, cancelled = true }

-- An entry in BullMQ's events stream of the queue (`qp .. 'events'`, in the queue's slot), shaped
-- as BullMQ's own, for the transitions that BullMQ's scripts do not make: API pods read the stream
-- to serve task event streams (src/task-events). Trimmed as BullMQ trims it.
local function sl_event(qp, ...)
  local max = redis.call('HGET', qp .. 'meta', 'opts.maxLenEvents') or 10000
  redis.call('XADD', qp .. 'events', 'MAXLEN', '~', max, '*', ...)
end

-- The task fields a finishing transition needs, in the order sl_finalize takes them.
local function sl_fields(jk)
  return redis.call('HMGET', jk, F.status, 'name', 'processedOn', F.cancelRequestedAt, 'stc', F.callbackUrl)
end

-- The intent to deliver a task's completion webhook (options.callback_url), written in the same
-- script that makes the task final, so a crash cannot drop it: the delivery schedule (SK.callbacks,
-- id → due ms) is what the dispatchers claim from. The delivery id names this finalisation.
local function sl_callback_due(qp, jk, now)
  local id = string.sub(jk, #qp + 1)
  redis.call('HSET', jk, F.callbackStatus, 'pending', F.callbackAttempts, 0, F.callbackDelivery, id .. '.' .. now)
  redis.call('HDEL', jk, F.callbackError)
  redis.call('ZADD', qp .. SK.callbacks, now, id)
end

-- A run ended in a final state. The counters and the failure-rate window (per-second buckets) move
-- with BullMQ's own move, in the same script, once. `f` is sl_fields(jk). The window counts per
-- second: O(ALERT_WINDOW) fields at most, however many tasks finish.
local function sl_finalize(qp, jk, to, now, f)
  if FINAL[f[1]] then return end
  if to == 'cancelled' then
    redis.call('HSET', jk, F.status, to, F.cancelledAt, now)
  else
    redis.call('HSET', jk, F.status, to)
  end
  if f[5] then redis.call('HDEL', jk, 'stc') end
  local stats = qp .. SK.stats
  if to == 'completed' then
    -- duration_count:<name> is also the completed count: the metrics sum it over names.
    redis.call('HINCRBY', stats, 'duration_count:' .. f[2], 1)
    redis.call('HINCRBYFLOAT', stats, 'duration_sum:' .. f[2], (now - (tonumber(f[3]) or now)) / 1000)
    redis.call('HINCRBY', qp .. SK.window, 'ok:' .. math.floor(now / 1000), 1)
  elseif to == 'failed' then
    redis.call('HINCRBY', stats, 'failed', 1)
    redis.call('HINCRBY', qp .. SK.window, 'fail:' .. math.floor(now / 1000), 1)
  else
    redis.call('HINCRBY', stats, 'cancelled', 1)
  end
  if f[6] then sl_callback_due(qp, jk, now) end
end

-- A failed run will be retried at `due`. Its lost-run accounting, if any, is done (stc).
local function sl_retrying(qp, jk, now, due)
  redis.call('HSET', jk, F.status, 'retrying', F.nextRetryAt, due, F.lastRunFinishedAt, now)
  redis.call('HDEL', jk, 'stc')
  redis.call('HINCRBY', qp .. SK.stats, 'retried', 1)
end

-- Moves a job that is not running (waiting, prioritized, delayed, paused, or just taken from one
-- of those) to BullMQ's failed set as cancelled. The job keeps its payload until it expires.
local function sl_cancel_idle(qp, jk, id, now, f)
  redis.call('LREM', qp .. 'wait', 0, id)
  redis.call('LREM', qp .. 'paused', 0, id)
  redis.call('LREM', qp .. 'active', 0, id)
  redis.call('ZREM', qp .. 'prioritized', id)
  redis.call('ZREM', qp .. 'delayed', id)
  redis.call('DEL', jk .. ':lock')
  redis.call('SREM', qp .. 'stalled', id)
  redis.call('HSET', jk, 'finishedOn', now, 'failedReason', CANCELLED_REASON)
  if not f[4] then redis.call('HSET', jk, F.cancelRequestedAt, now) end
  redis.call('ZADD', qp .. 'failed', now, id)
  sl_finalize(qp, jk, 'cancelled', now, f)
  -- What BullMQ would say of a job moved to its failed set.
  sl_event(qp, 'event', 'failed', 'jobId', id, 'failedReason', CANCELLED_REASON, 'prev', f[1] == 'retrying' and 'delayed' or 'waiting')
end

-- BullMQ handed a job to a worker (moveToActive, or a fetch-next). `rc` is BullMQ's reply:
-- {job hash, job id, ...} when a job was taken. The job's fields are read from that reply, not
-- from Redis again. A job revoked while it was away (its worker died while running it) is
-- cancelled here and never reaches a worker.
local function sl_on_activated(qp, rc, now)
  if type(rc) ~= 'table' or type(rc[1]) ~= 'table' then return rc end
  local id = rc[2]
  local jk = qp .. id
  local h = rc[1]
  local status, scx, stc, scu, progress
  for i = 1, #h, 2 do
    local k = h[i]
    if k == F.status then status = h[i + 1]
    elseif k == F.cancelRequestedAt then scx = h[i + 1]
    elseif k == 'stc' then stc = h[i + 1]
    elseif k == F.callbackUrl then scu = h[i + 1]
    elseif k == 'progress' or k == F.progressMessage then progress = true end
  end
  if not status then return rc end
  if scx then
    sl_cancel_idle(qp, jk, id, now, {status, nil, nil, scx, stc, scu})
    if redis.call('LLEN', qp .. 'wait') > 0 or redis.call('ZCARD', qp .. 'prioritized') > 0 then
      redis.call('ZADD', qp .. 'marker', 0, '0')
    end
    return {0, 0, 0, 0}
  end
  -- Already 'processing' means the previous run was lost with its worker: the job's stalled
  -- counter (stc), which BullMQ returns with it, tells the runner to account for that run.
  redis.call('HSET', jk, F.status, 'processing')
  if progress then redis.call('HDEL', jk, 'progress', F.progressMessage) end
  return rc
end
