-- One task: KEYS and ARGV as sl_add takes them (add-job.lua).
return sl_add(KEYS, ARGV)
