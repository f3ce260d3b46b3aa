-- Revokes a task. KEYS[1] job key. ARGV[1] key prefix, ARGV[2] job id, ARGV[3] now (ms).
-- A task that waits (pending or retrying) is cancelled at once; a running one is flagged, and its
-- worker, told on the revocation channel, terminates it.
-- Returns {'missing'} | {'final', status, cancelled_at} | {'running'}
--       | {'cancelled', previous, task_name, cancelled_at}.
local jk, qp, id, now = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local f = sl_fields(jk)
if not f[1] then return {'missing'} end
if FINAL[f[1]] then return {'final', f[1], redis.call('HGET', jk, F.cancelledAt) or ''} end
if f[1] == 'processing' then
  if not f[4] then redis.call('HSET', jk, F.cancelRequestedAt, now) end
  return {'running'}
end
sl_cancel_idle(qp, jk, id, now, f)
return {'cancelled', f[1], f[2], ARGV[3]}
