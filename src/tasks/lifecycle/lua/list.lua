-- One page of an index, newest first. KEYS[1] index. ARGV[1] cursor (exclusive upper score, or
-- '+inf'), ARGV[2] limit, ARGV[3] key prefix, ARGV[4] now (ms), ARGV[5] retention (s), ARGV[6]
-- status filter (a status, several separated by commas, or ''), ARGV[7] and ARGV[8] the positions
-- of the status and finishedOn fields in the field list, which follows from ARGV[9]. Expired and
-- filtered-out entries are skipped; at most limit × 10 entries are read per call.
-- Returns {resume, id1, {fields1...}, score1, id2, ...}: `resume` is the score of the last entry
-- read when the scan stopped before the index's end ('' when it reached it): everything from there
-- up to the cursor was read.
local limit, qp, now, ttl, want = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local ps, pf = tonumber(ARGV[7]), tonumber(ARGV[8])
local wanted = {}
for st in string.gmatch(want, '[^,]+') do wanted[st] = true end
local fields = {}
for i = 9, #ARGV do fields[#fields + 1] = ARGV[i] end
local max = ARGV[1] == '+inf' and '+inf' or ('(' .. ARGV[1])
local out = {''}
local found, scanned, budget = 0, 0, limit * 10
while found < limit and scanned < budget do
  local batch = redis.call('ZREVRANGEBYSCORE', KEYS[1], max, '-inf', 'WITHSCORES', 'LIMIT', 0, math.min(budget - scanned, limit - found + 10))
  if #batch == 0 then
    out[1] = ''
    return out
  end
  for i = 1, #batch, 2 do
    local id, score = batch[i], batch[i + 1]
    scanned = scanned + 1
    local v = redis.call('HMGET', qp .. id, unpack(fields))
    local status, fin = v[ps], v[pf]
    local expired = status and FINAL[status] and fin and tonumber(fin) + ttl * 1000 <= now
    if status and not expired and (want == '' or wanted[status]) then
      found = found + 1
      out[#out + 1] = id
      out[#out + 1] = v
      out[#out + 1] = score
    end
    max = '(' .. score
    out[1] = score
    if found == limit then break end
  end
end
return out
