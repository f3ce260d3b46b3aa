-- Retry: a failed or cancelled task goes back to the queue as a new attempt series, with BullMQ's
-- reprocessJob (out of the failed set, into wait or prioritized; it honours a paused queue and
-- removes finishedOn, processedOn, failedReason and attemptsMade) and Sluice's half, in one script.
-- The finished series is appended to the task's attempt history; the job id, and with it the
-- idempotency key's task, stays the same.
-- KEYS as reprocessJob's: [1] job key, [3] the failed set. ARGV[1..6] reprocessJob's (ARGV[6] '0':
-- `ats` counts every run ever started). Sluice's: ARGV[7] key prefix, ARGV[8] now (ms), ARGV[9]
-- retention (s), ARGV[10] the retrying key's label or '', ARGV[11] most history entries kept.
-- Returns {'missing'} | {'refused', status} | {'retried', previous status, task name}.
local jk, id, qp, now = KEYS[1], ARGV[1], ARGV[7], tonumber(ARGV[8])
local h = redis.call('HMGET', jk, F.status, 'name', 'finishedOn', 'failedReason', 'atm', 'processedOn', F.cancelledAt, F.attemptHistory, 'opts')
local status = h[1]
if not status or not h[2] then return {'missing'} end
-- Past its retention but not reaped yet: gone for the API (reads and the reaper agree).
if FINAL[status] and h[3] and tonumber(h[3]) + tonumber(ARGV[9]) * 1000 <= now then return {'missing'} end
if (status ~= 'failed' and status ~= 'cancelled') or not redis.call('ZSCORE', KEYS[3], id) then return {'refused', status} end

local history = h[8] and cjson.decode(h[8]) or {}
history[#history + 1] = {
  status = status,
  error = h[4] or '',
  attempts = h[5] or '0',
  started_at = h[6] or '',
  finished_at = (status == 'cancelled' and h[7] or h[3]) or '',
  retried_at = ARGV[8],
  retried_by = ARGV[10],
}
while #history > tonumber(ARGV[11]) do table.remove(history, 1) end

local rc = bullmq_body(KEYS, ARGV)
if rc ~= 1 then return {'refused', status} end
-- When the new series became runnable, in the job's options (the worker's queue-wait figure reads
-- it there). Spliced into BullMQ's JSON as text, leaving the rest of it exactly as BullMQ wrote it.
local opts = h[9] or '{}'
local stamp = '"' .. RETRIED_AT_OPT .. '":' .. ARGV[8]
local pattern = '"' .. RETRIED_AT_OPT .. '":%d+'
if string.find(opts, pattern) then
  opts = string.gsub(opts, pattern, stamp, 1)
else
  opts = '{' .. stamp .. (opts == '{}' and '' or ',') .. string.sub(opts, 2)
end
redis.call('HSET', jk, F.status, 'pending', F.attemptHistory, cjson.encode(history), 'opts', opts)
redis.call('HDEL', jk, F.cancelRequestedAt, F.cancelledAt, F.nextRetryAt, F.lastRunFinishedAt, F.progressMessage, 'progress', 'stacktrace', 'stc', 'returnvalue')
-- Its completion webhook, if any, is owed again when the new series ends: the last delivery's
-- state goes (the history keeps how the series ended), and an undelivered one is not sent.
redis.call('HDEL', jk, F.callbackStatus, F.callbackAttempts, F.callbackDelivery, F.callbackError)
redis.call('ZREM', qp .. SK.callbacks, id)
-- The JSON counters count final states: the task is no longer failed (or cancelled).
redis.call('HINCRBY', qp .. SK.stats, status, -1)
redis.call('HINCRBY', qp .. SK.stats, 'requeued', 1)
return {'retried', status, h[2]}
