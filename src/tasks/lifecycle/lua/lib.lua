-- Sluice's half of every task transition. Prepended to each script; the key suffixes and field
-- names (SK, F) and CANCELLED_REASON are generated from task-keys.ts and task-record.ts. `qp` is BullMQ's key prefix of the task's queue
-- (`<prefix>:{<queue>}:`), so every key used here is in the queue's cluster slot.
local function sl_idx(qp, name, status)
  local key = qp .. SK.idx
  if name then key = key .. ':name:' .. name end
  if status then key = key .. ':status:' .. status end
  if not name and not status then key = key .. ':all' end
  return key
end

local function sl_reindex(qp, id, name, score, from, to)
  if from == to then return end
  if from then
    redis.call('ZREM', sl_idx(qp, nil, from), id)
    redis.call('ZREM', sl_idx(qp, name, from), id)
  end
  redis.call('ZADD', sl_idx(qp, nil, to), score, id)
  redis.call('ZADD', sl_idx(qp, name, to), score, id)
end

local function sl_unindex(qp, id, name, status)
  redis.call('ZREM', sl_idx(qp, nil, nil), id)
  redis.call('ZREM', sl_idx(qp, name, nil), id)
  if status then
    redis.call('ZREM', sl_idx(qp, nil, status), id)
    redis.call('ZREM', sl_idx(qp, name, status), id)
  end
end

local FINAL = { completed = true, failed = true, cancelled = true }

-- A run ended in a final state. Counters, indexes, the running set and the failure-rate window
-- move together with BullMQ's own move, in the same script, once.
local function sl_finalize(qp, jk, id, to, now)
  local f = redis.call('HMGET', jk, F.status, 'name', F.score, 'processedOn')
  if FINAL[f[1]] then return end
  sl_reindex(qp, id, f[2], f[3], f[1], to)
  redis.call('HSET', jk, F.status, to, 'stc', 0)
  redis.call('ZREM', qp .. SK.running, id)
  local stats = qp .. SK.stats
  redis.call('HINCRBY', stats, to, 1)
  if to == 'completed' then
    redis.call('HSET', jk, 'progress', 100)
    local started = tonumber(f[4]) or now
    redis.call('HINCRBY', stats, 'duration_count:' .. f[2], 1)
    redis.call('HINCRBYFLOAT', stats, 'duration_sum:' .. f[2], (now - started) / 1000)
    redis.call('ZADD', qp .. SK.outcomesAll, now, id)
  elseif to == 'failed' then
    redis.call('ZADD', qp .. SK.outcomesAll, now, id)
    redis.call('ZADD', qp .. SK.outcomesFailed, now, id)
  else
    redis.call('HSET', jk, F.cancelledAt, now)
  end
end

-- A failed run will be retried at `due`.
local function sl_retrying(qp, jk, id, now, due)
  local f = redis.call('HMGET', jk, F.status, 'name', F.score)
  sl_reindex(qp, id, f[2], f[3], f[1], 'retrying')
  redis.call('HSET', jk, F.status, 'retrying', F.nextRetryAt, due, F.lastRunFinishedAt, now, 'stc', 0)
  redis.call('ZREM', qp .. SK.running, id)
  redis.call('HINCRBY', qp .. SK.stats, 'retried', 1)
end

-- Moves a job that is not running (waiting, prioritized, delayed, paused, or just taken from one
-- of those) to BullMQ's failed set as cancelled. The job keeps its payload until it expires.
local function sl_cancel_idle(qp, jk, id, now)
  redis.call('LREM', qp .. 'wait', 0, id)
  redis.call('LREM', qp .. 'paused', 0, id)
  redis.call('LREM', qp .. 'active', 0, id)
  redis.call('ZREM', qp .. 'prioritized', id)
  redis.call('ZREM', qp .. 'delayed', id)
  redis.call('DEL', jk .. ':lock')
  redis.call('SREM', qp .. 'stalled', id)
  redis.call('HSET', jk, 'finishedOn', now, 'failedReason', CANCELLED_REASON)
  redis.call('HSETNX', jk, F.cancelRequestedAt, now)
  redis.call('ZADD', qp .. 'failed', now, id)
  sl_finalize(qp, jk, id, 'cancelled', now)
end

-- BullMQ handed a job to a worker (moveToActive, or a fetch-next). `rc` is BullMQ's reply:
-- {job hash, job id, ...} when a job was taken. A job revoked while it was away (its worker died
-- while running it) is cancelled here and never reaches a worker.
local function sl_on_activated(qp, rc, now)
  if type(rc) ~= 'table' or type(rc[1]) ~= 'table' then return rc end
  local id = rc[2]
  local jk = qp .. id
  local f = redis.call('HMGET', jk, F.status, 'name', F.score, F.cancelRequestedAt)
  if not f[1] then return rc end
  if f[4] then
    sl_cancel_idle(qp, jk, id, now)
    if redis.call('LLEN', qp .. 'wait') > 0 or redis.call('ZCARD', qp .. 'prioritized') > 0 then
      redis.call('ZADD', qp .. 'marker', 0, '0')
    end
    return {0, 0, 0, 0}
  end
  sl_reindex(qp, id, f[2], f[3], f[1], 'processing')
  -- Already 'processing' means the previous run was lost with its worker: the job's stalled
  -- counter (stc), which BullMQ returns with it, tells the runner to account for that run.
  redis.call('HSET', jk, F.status, 'processing', 'progress', 0)
  redis.call('HDEL', jk, F.progressMessage)
  redis.call('ZADD', qp .. SK.running, now, id)
  return rc
end
