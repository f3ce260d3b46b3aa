-- Epilogue of BullMQ's moveToDelayed (a retry with backoff). BullMQ checked the lock token.
-- ARGV[1] key prefix, ARGV[2] timestamp, ARGV[5] delay (ms).
local rc = bullmq_body(KEYS, ARGV)
if type(rc) == 'number' and rc < 0 then return rc end
local now = tonumber(ARGV[2])
sl_retrying(ARGV[1], KEYS[5], now, now + tonumber(ARGV[5]))
return sl_on_activated(ARGV[1], rc, now)
