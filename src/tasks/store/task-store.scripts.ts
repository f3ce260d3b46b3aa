/**
 * Lua scripts that move a task between states. Each runs atomically, so a status change, its
 * index entries and its counters move together and exactly once. Keys are derived from the
 * prefix inside the scripts; with a hash-tag prefix they all share one cluster slot.
 */

const REINDEX = `
local function reindex(prefix, id, name, seq, from, to)
  if from ~= '' then
    redis.call('ZREM', prefix .. ':idx:status:' .. from, id)
    redis.call('ZREM', prefix .. ':idx:name:' .. name .. ':status:' .. from, id)
  end
  redis.call('ZADD', prefix .. ':idx:status:' .. to, seq, id)
  redis.call('ZADD', prefix .. ':idx:name:' .. name .. ':status:' .. to, seq, id)
end
local function finalize(prefix, key, id, name, to, now, ttl)
  ttl = tonumber(ttl)
  redis.call('EXPIRE', key, ttl)
  redis.call('ZADD', prefix .. ':expiry', now + ttl * 1000, id .. '|' .. name .. '|' .. to)
  redis.call('ZREM', prefix .. ':running', id)
end
`;

const CREATE_ONE = `
local function create_one(key, prefix, id, name, queue, submitted, max_retries, idem, idem_value, ttl)
  if idem ~= '' then
    local existing = redis.call('GET', idem)
    if existing then return {'exists', existing} end
  end
  if redis.call('EXISTS', key) == 1 then return {'duplicate'} end
  local seq = redis.call('INCR', prefix .. ':seq')
  redis.call('HSET', key, 'task_name', name, 'queue', queue, 'status', 'pending', 'seq', seq,
    'submitted_at', submitted, 'attempts', 0, 'max_retries', max_retries, 'progress', 0, 'ttl', ttl)
  redis.call('ZADD', prefix .. ':idx:all', seq, id)
  redis.call('ZADD', prefix .. ':idx:name:' .. name, seq, id)
  redis.call('ZADD', prefix .. ':idx:status:pending', seq, id)
  redis.call('ZADD', prefix .. ':idx:name:' .. name .. ':status:pending', seq, id)
  redis.call('HINCRBY', prefix .. ':stats', 'total', 1)
  if idem ~= '' then redis.call('SET', idem, idem_value, 'EX', ttl) end
  return {'created', tostring(seq)}
end
`;

/**
 * KEYS[1] record. ARGV: prefix, id, task_name, queue, submitted_at, max_retries, idem key or '',
 * idem value, ttl (seconds a finished record and an idempotency key are kept).
 * Returns {'created', seq} | {'exists', idem value} | {'duplicate'}.
 */
export const CREATE_SCRIPT =
  CREATE_ONE +
  `
return create_one(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
`;

/** Number of ARGV entries per task in CREATE_MANY_SCRIPT, after the prefix. */
export const CREATE_MANY_FIELDS = 8;

/**
 * CREATE for many tasks in one call: one command instead of one per task, which is most of a
 * batch's cost in the client. ARGV: prefix, then per task: id, task_name, queue, submitted_at,
 * max_retries, idem key or '', idem value, ttl. Returns one CREATE reply per task.
 */
export const CREATE_MANY_SCRIPT =
  CREATE_ONE +
  `
local prefix = ARGV[1]
local out = {}
for i = 2, #ARGV, ${CREATE_MANY_FIELDS} do
  local id = ARGV[i]
  out[#out + 1] = create_one(prefix .. ':task:' .. id, prefix, id, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7])
end
return out
`;

/** Undoes CREATE when the job could not be queued. KEYS[1] record. ARGV: prefix, id, idem key or ''. */
export const DISCARD_SCRIPT = `
local prefix, id = ARGV[1], ARGV[2]
local name = redis.call('HGET', KEYS[1], 'task_name')
if not name then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', prefix .. ':idx:all', id)
redis.call('ZREM', prefix .. ':idx:name:' .. name, id)
redis.call('ZREM', prefix .. ':idx:status:pending', id)
redis.call('ZREM', prefix .. ':idx:name:' .. name .. ':status:pending', id)
redis.call('HINCRBY', prefix .. ':stats', 'total', -1)
if ARGV[3] ~= '' then redis.call('DEL', ARGV[3]) end
return 1
`;

/**
 * A run begins. KEYS[1] record. ARGV: prefix, id, now, run_id, worker_id.
 * Returns {'missing'} | {'final', status} | {'revoked', prev} | {'lost', attempts, run_id}
 *       | {'started', prev, attempts, previous next_retry_at or ''}.
 */
export const START_SCRIPT =
  REINDEX +
  `
local prefix, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local rec = redis.call('HMGET', KEYS[1], 'status', 'task_name', 'seq', 'attempts', 'run_id', 'next_retry_at', 'ttl')
local status, name, seq = rec[1], rec[2], rec[3]
if not status then return {'missing'} end
if status == 'completed' or status == 'failed' or status == 'cancelled' then return {'final', status} end
if redis.call('EXISTS', prefix .. ':revoked:' .. id) == 1 then
  reindex(prefix, id, name, seq, status, 'cancelled')
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'cancelled_at', now, 'finished_at', now, 'next_retry_at', '')
  redis.call('HINCRBY', prefix .. ':stats', 'cancelled', 1)
  finalize(prefix, KEYS[1], id, name, 'cancelled', now, rec[7])
  return {'revoked', status}
end
if status == 'processing' then return {'lost', rec[4], rec[5] or ''} end
local due = rec[6] or ''
reindex(prefix, id, name, seq, status, 'processing')
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', 'processing', 'started_at', now, 'run_id', ARGV[4], 'worker_id', ARGV[5],
  'next_retry_at', '', 'progress', 0)
redis.call('HDEL', KEYS[1], 'finished_at', 'error')
redis.call('ZADD', prefix .. ':running', now, id)
return {'started', status, tostring(attempts), due}
`;

/**
 * A run ends: completed, failed, retrying, cancelled, or put back to pending, only from 'processing'.
 * KEYS[1] record. ARGV: prefix, id, now, to_status, '1' if final else '0', outcome ('ok', 'fail' or
 * ''), then N and N record field/value pairs, then M and M integer counter/increment pairs for the
 * stats hash (HINCRBY), then float sum/increment pairs to the end (HINCRBYFLOAT). Flat arguments
 * rather than JSON: no decoding in Lua.
 * Returns {'missing'} | {'conflict', status} | {'ok', prev}.
 */
export const FINISH_SCRIPT =
  REINDEX +
  `
local prefix, id, now, to = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local rec = redis.call('HMGET', KEYS[1], 'status', 'task_name', 'seq', 'ttl')
local status, name, seq = rec[1], rec[2], rec[3]
if not status then return {'missing'} end
if status ~= 'processing' then return {'conflict', status} end
reindex(prefix, id, name, seq, status, to)
if to == 'pending' then
  -- Put back unstarted (graceful shutdown): the run does not count as an attempt.
  redis.call('HINCRBY', KEYS[1], 'attempts', -1)
  redis.call('HDEL', KEYS[1], 'started_at', 'run_id')
end
local i = 7
local nfields = tonumber(ARGV[i])
local flat = {'status', to}
for j = i + 1, i + nfields * 2 do flat[#flat + 1] = ARGV[j] end
redis.call('HSET', KEYS[1], unpack(flat))
i = i + nfields * 2 + 1
local ncounters = tonumber(ARGV[i])
for j = i + 1, i + ncounters * 2, 2 do redis.call('HINCRBY', prefix .. ':stats', ARGV[j], ARGV[j + 1]) end
for j = i + ncounters * 2 + 1, #ARGV, 2 do redis.call('HINCRBYFLOAT', prefix .. ':stats', ARGV[j], ARGV[j + 1]) end
if ARGV[5] == '1' then
  finalize(prefix, KEYS[1], id, name, to, now, rec[4])
else
  redis.call('ZREM', prefix .. ':running', id)
end
if ARGV[6] ~= '' then
  redis.call('ZADD', prefix .. ':outcomes:all', now, id)
  if ARGV[6] == 'fail' then redis.call('ZADD', prefix .. ':outcomes:failed', now, id) end
end
return {'ok', status}
`;

/**
 * Revoke a task. KEYS[1] record. ARGV: prefix, id, now, seconds the revocation outlives the record
 * (the longest hard time limit: a run still going when the record expires must still see it).
 * Returns {'missing'} | {'final', status, cancelled_at} | {'cancelled', prev, now, task_name, queue}
 *       | {'running'}.
 */
export const CANCEL_SCRIPT =
  REINDEX +
  `
local prefix, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local rec = redis.call('HMGET', KEYS[1], 'status', 'task_name', 'seq', 'cancelled_at', 'ttl', 'queue')
local status, name, seq = rec[1], rec[2], rec[3]
if not status then return {'missing'} end
if status == 'completed' or status == 'failed' or status == 'cancelled' then
  return {'final', status, rec[4] or ''}
end
redis.call('SET', prefix .. ':revoked:' .. id, now, 'EX', math.ceil(tonumber(rec[5]) + tonumber(ARGV[4])))
if status == 'processing' then
  redis.call('HSET', KEYS[1], 'cancel_requested_at', now)
  return {'running'}
end
reindex(prefix, id, name, seq, status, 'cancelled')
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'cancelled_at', now, 'finished_at', now, 'next_retry_at', '')
redis.call('HINCRBY', prefix .. ':stats', 'cancelled', 1)
finalize(prefix, KEYS[1], id, name, 'cancelled', now, rec[5])
return {'cancelled', status, tostring(now), name, rec[6]}
`;

/** KEYS[1] record. ARGV: run_id, progress, message. Ignored unless that run is still current. */
export const PROGRESS_SCRIPT = `
local rec = redis.call('HMGET', KEYS[1], 'status', 'run_id')
if rec[1] ~= 'processing' or rec[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'progress', ARGV[2], 'progress_message', ARGV[3])
return 1
`;

/**
 * One page of an index, newest first, skipping (and trimming) entries whose records expired.
 * KEYS[1] index. ARGV: cursor (exclusive upper seq, or '+inf'), limit, record key prefix.
 * Returns {next_cursor or '', id1, fields1..., id2, ...} as flat HGETALL replies.
 */
export const LIST_SCRIPT = `
local limit = tonumber(ARGV[2])
local max = ARGV[1] == '+inf' and '+inf' or ('(' .. ARGV[1])
local out = {''}
local found, scanned = 0, 0
local lastSeq = nil
while found < limit and scanned < limit * 10 do
  local batch = redis.call('ZREVRANGEBYSCORE', KEYS[1], max, '-inf', 'WITHSCORES', 'LIMIT', 0, limit - found)
  if #batch == 0 then break end
  for i = 1, #batch, 2 do
    local id, seq = batch[i], batch[i + 1]
    scanned = scanned + 1
    local rec = redis.call('HGETALL', ARGV[3] .. id)
    if #rec == 0 then
      redis.call('ZREM', KEYS[1], id)
    else
      found = found + 1
      out[#out + 1] = id
      out[#out + 1] = rec
    end
    lastSeq = seq
  end
  max = '(' .. lastSeq
end
if found == limit and lastSeq then
  if #redis.call('ZREVRANGEBYSCORE', KEYS[1], max, '-inf', 'LIMIT', 0, 1) > 0 then out[1] = lastSeq end
end
return out
`;

/** Drops index entries of records that expired. ARGV: prefix, now, batch size. */
export const SWEEP_SCRIPT = `
local prefix = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', prefix .. ':expiry', '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  local id, name, status = string.match(member, '^(.-)|(.*)|(.-)$')
  if redis.call('EXISTS', prefix .. ':task:' .. id) == 0 then
    redis.call('ZREM', prefix .. ':idx:all', id)
    redis.call('ZREM', prefix .. ':idx:name:' .. name, id)
    redis.call('ZREM', prefix .. ':idx:status:' .. status, id)
    redis.call('ZREM', prefix .. ':idx:name:' .. name .. ':status:' .. status, id)
  end
  redis.call('ZREM', prefix .. ':expiry', member)
end
return #due
`;
