-- ingest.lua: store one micro-batch of validated ticks, atomically and in one round trip.
--
-- KEYS[1]            persist queue (stream)
-- KEYS[2]            set of known pairs
-- for pair group g = 0..G-1:
--   KEYS[3 + 3g]     ticks:<SYM>  recent list, newest first
--   KEYS[4 + 3g]     seq:<SYM>    per-pair counter
--   KEYS[5 + 3g]     seen:<SYM>   identities of recent ticks (score = tick timestamp)
-- ARGV[1]            cap of ticks:<SYM> (TICK_BUFFER_SIZE)
-- ARGV[2]            dedup window in ms (identities older than newest - window are dropped)
-- ARGV[3]            dedup cap (most identities kept per pair)
-- ARGV[4]            G, the number of pair groups
-- then for each group: channel (updates:<SYM>), pair name, n, and n times:
--   identity, timestamp, tick JSON without its closing brace
-- returns: one integer per tick in argument order: its new seq, or 0 for a duplicate.
local cap = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local seenCap = tonumber(ARGV[3])
local groups = tonumber(ARGV[4])
local queue = KEYS[1]
local result = {}
local a = 5
for g = 0, groups - 1 do
  local ticksKey, seqKey, seenKey = KEYS[3 + 3 * g], KEYS[4 + 3 * g], KEYS[5 + 3 * g]
  local channel, pair, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  local fresh = {}
  local newest = 0
  for i = 1, n do
    local identity, ts, body = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2]
    a = a + 3
    if redis.call('ZADD', seenKey, 'NX', ts, identity) == 1 then
      fresh[#fresh + 1] = body
      if ts > newest then newest = ts end
      result[#result + 1] = -1 -- replaced by the seq below
    else
      result[#result + 1] = 0
    end
  end
  if #fresh > 0 then
    local last = redis.call('INCRBY', seqKey, #fresh)
    local seq = last - #fresh
    local full = {}
    for i = 1, #fresh do
      seq = seq + 1
      local json = fresh[i] .. ',"seq":' .. seq .. '}'
      full[i] = json
      redis.call('PUBLISH', channel, json)
      redis.call('XADD', queue, '*', 't', json)
    end
    -- LPUSH takes many values at once; unpack is bounded by Lua's stack, so push in chunks.
    for i = 1, #full, 1000 do
      redis.call('LPUSH', ticksKey, unpack(full, i, math.min(i + 999, #full)))
    end
    redis.call('LTRIM', ticksKey, 0, cap - 1)
    redis.call('SADD', KEYS[2], pair)
    redis.call('ZREMRANGEBYSCORE', seenKey, '-inf', '(' .. (newest - window))
    if redis.call('ZCARD', seenKey) > seenCap then
      redis.call('ZREMRANGEBYRANK', seenKey, 0, -(seenCap + 1))
    end
    -- fill in the seqs of this group's fresh ticks, in order
    local s = last - #fresh
    for r = #result - n + 1, #result do
      if result[r] == -1 then
        s = s + 1
        result[r] = s
      end
    end
  end
end
return result
