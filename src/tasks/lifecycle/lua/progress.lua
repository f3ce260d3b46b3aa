-- A run reports progress. KEYS[1] job key. ARGV[1] the run's lock token, ARGV[2] percent,
-- ARGV[3] message, ARGV[4] key prefix, ARGV[5] job id. Refused unless the run still holds the
-- task's lock. Like BullMQ's updateProgress, it adds a `progress` event to the events stream.
if redis.call('GET', KEYS[1] .. ':lock') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'progress', ARGV[2], F.progressMessage, ARGV[3])
sl_event(ARGV[4], 'event', 'progress', 'jobId', ARGV[5], 'data', ARGV[2])
return 1
