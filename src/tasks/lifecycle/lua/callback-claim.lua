-- Claims completion webhooks that are due. KEYS[1] the queue's delivery schedule (SK.callbacks).
-- ARGV[1] key prefix, ARGV[2] now (ms), ARGV[3] lease (ms), ARGV[4] batch size.
-- Each claimed delivery is pushed a lease into the future: a dispatcher that dies while delivering
-- leaves it to another once the lease is over, so delivery is at least once. An entry whose task is
-- gone (reaped) or no longer pending is dropped. Returns {{id, url, delivery id, attempts}, ...}.
local qp, now, lease, batch = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, batch)) do
  local h = redis.call('HMGET', qp .. id, F.callbackUrl, F.callbackDelivery, F.callbackAttempts, F.callbackStatus)
  if h[1] and h[4] == 'pending' then
    redis.call('ZADD', KEYS[1], now + lease, id)
    out[#out + 1] = {id, h[1], h[2] or '', h[3] or '0'}
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
