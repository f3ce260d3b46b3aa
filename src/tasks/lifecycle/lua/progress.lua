-- A run reports progress. KEYS[1] job key. ARGV[1] the run's lock token, ARGV[2] percent,
-- ARGV[3] message. Refused unless the run still holds the task's lock.
if redis.call('GET', KEYS[1] .. ':lock') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'progress', ARGV[2], F.progressMessage, ARGV[3])
return 1
