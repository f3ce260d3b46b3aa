-- The epoch of the Redis dataset: a hash written once, so that a dataset that vanished (a restart
-- without persistence, a flush, a failover to an empty replica, a restore from an old backup) is
-- told apart from the one a pod saw before.
-- KEYS[1] the epoch hash. ARGV[1] the epoch id this process saw last ('' when it has seen none),
-- ARGV[2] a fresh id, ARGV[3] now in milliseconds.
-- A change is explained only when the hash says it replaced exactly the epoch the caller saw;
-- anything else (missing, written by a pod that never saw the old one, restored) is a loss that
-- this caller records, once, for every pod to read.
local seen, fresh, now = ARGV[1], ARGV[2], ARGV[3]
local id = redis.call('HGET', KEYS[1], 'id')
if not id then
  redis.call('HSET', KEYS[1], 'id', fresh, 'created_at', now)
  id = fresh
end
if seen ~= '' and id ~= seen and redis.call('HGET', KEYS[1], 'previous') ~= seen then
  redis.call('HSET', KEYS[1], 'data_lost_at', now, 'previous', seen)
end
return redis.call('HMGET', KEYS[1], 'id', 'created_at', 'data_lost_at', 'previous')
