-- Records a delivery attempt. KEYS[1] job key, KEYS[2] the queue's delivery schedule.
-- ARGV[1] task id, ARGV[2] delivery id, ARGV[3] '1' delivered | '0' failed, ARGV[4] the error,
-- ARGV[5] now (ms), ARGV[6] CALLBACK_MAX_ATTEMPTS, ARGV[7] delay before the next attempt (ms),
-- ARGV[8] '1' when the failure is final whatever the attempts (the host is no longer allowed).
-- A claim for another delivery (the task was retried and finished again) or for a delivery already
-- settled changes nothing. Returns {'delivered' | 'retrying' | 'failed' | 'superseded', attempts}.
local h = redis.call('HMGET', KEYS[1], F.callbackDelivery, F.callbackAttempts, F.callbackStatus)
if h[1] ~= ARGV[2] or h[3] ~= 'pending' then return {'superseded', 0} end
local attempts = tonumber(h[2] or '0') + 1
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], F.callbackStatus, 'delivered', F.callbackAttempts, attempts)
  redis.call('HDEL', KEYS[1], F.callbackError)
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'delivered', attempts}
end
if ARGV[8] == '1' or attempts >= tonumber(ARGV[6]) then
  redis.call('HSET', KEYS[1], F.callbackStatus, 'failed', F.callbackAttempts, attempts, F.callbackError, ARGV[4])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'failed', attempts}
end
redis.call('HSET', KEYS[1], F.callbackAttempts, attempts, F.callbackError, ARGV[4])
redis.call('ZADD', KEYS[2], tonumber(ARGV[5]) + tonumber(ARGV[7]), ARGV[1])
return {'retrying', attempts}
