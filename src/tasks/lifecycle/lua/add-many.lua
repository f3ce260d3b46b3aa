-- Several tasks of one queue and one add variant, each with sl_add's ARGV (add-job.lua), in one
-- script: the variant's KEYS are the queue's, shared by every task. A batch pays Redis' command
-- dispatch and the script's set-up once per chunk instead of once per task.
-- ARGV[1] the number of arguments per task, then each task's arguments in turn.
-- Returns one reply per task, as sl_add's.
local stride = tonumber(ARGV[1])
local out = {}
for at = 2, #ARGV, stride do
  out[#out + 1] = sl_add(KEYS, {unpack(ARGV, at, at + stride - 1)})
end
return out
