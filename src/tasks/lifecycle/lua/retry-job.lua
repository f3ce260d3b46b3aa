-- Epilogue of BullMQ's retryJob (a retry without delay). ARGV[1] key prefix, ARGV[2] timestamp.
local rc = bullmq_body(KEYS, ARGV)
if type(rc) == 'number' and rc < 0 then return rc end
local now = tonumber(ARGV[2])
sl_retrying(ARGV[1], KEYS[4], now, now)
return rc
