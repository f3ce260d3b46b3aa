-- Epilogue of BullMQ's moveToActive. ARGV[1] key prefix, ARGV[2] timestamp.
local rc = bullmq_body(KEYS, ARGV)
return sl_on_activated(ARGV[1], rc, tonumber(ARGV[2]))
