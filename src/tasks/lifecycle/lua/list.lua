-- One page of an index, newest first. KEYS[1] index. ARGV[1] cursor (exclusive upper score, or
-- '+inf'), ARGV[2] limit, ARGV[3] key prefix, ARGV[4] now (ms), then the fields to return.
-- Entries whose job has expired or been removed are skipped.
-- Returns {id1, {fields1...}, score1, id2, ...}.
local limit, qp, now = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
local max = ARGV[1] == '+inf' and '+inf' or ('(' .. ARGV[1])
local out = {}
local found, scanned = 0, 0
while found < limit and scanned < limit * 10 do
  local batch = redis.call('ZREVRANGEBYSCORE', KEYS[1], max, '-inf', 'WITHSCORES', 'LIMIT', 0, limit - found)
  if #batch == 0 then break end
  for i = 1, #batch, 2 do
    local id, score = batch[i], batch[i + 1]
    scanned = scanned + 1
    local jk = qp .. id
    local exp = redis.call('HMGET', jk, 'finishedOn', F.ttl, F.status)
    local expired = exp[1] and FINAL[exp[3]] and tonumber(exp[1]) + tonumber(exp[2] or 0) * 1000 <= now
    if exp[3] and not expired then
      found = found + 1
      out[#out + 1] = id
      out[#out + 1] = redis.call('HMGET', jk, unpack(fields))
      out[#out + 1] = score
    end
    max = '(' .. score
  end
end
return out
