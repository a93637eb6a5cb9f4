-- ingest.lua: store one micro-batch of validated ticks, atomically and in one round trip.
-- (candle-lib.lua is prepended at load time.)
--
-- KEYS[1]                 persist queue (stream): one entry per pair group, field t = JSON array
--                         of its new ticks, field n = how many
-- KEYS[2]                 set of known pairs
-- KEYS[3]                 count of ticks in the persist queue
-- for pair group g = 0..G-1, K = 4 + 2 * F keys each, starting at b = 4 + K * g:
--   KEYS[b]               ticks:<SYM>    recent list, newest first
--   KEYS[b + 1]           seq:<SYM>      per-pair counter
--   KEYS[b + 2]           seen:<SYM>     identities of recent ticks (score = tick timestamp)
--   KEYS[b + 3]           cdelta:<SYM>   candle inputs of recent ticks, newest first (for cache fills)
--   KEYS[b + 4 + 2f]      candle state of timeframe f (hash; maintained only while it exists)
--   KEYS[b + 5 + 2f]      historical:<SYM>:<TF> view of that state
-- ARGV[1]  cap of ticks:<SYM>            ARGV[2]  dedup window in ms
-- ARGV[3]  dedup cap per pair            ARGV[4]  cap of cdelta:<SYM>
-- ARGV[5]  candles kept per cache (CANDLE_CACHE_SIZE)
-- ARGV[6]  F, number of timeframes       ARGV[7 .. 6+F]  their lengths in seconds
-- ARGV[7+F]  G, number of pair groups
-- then for each group: channel (updates:<SYM>), pair name, n, and n times:
--   identity, timestamp, price (as sent), tick JSON without its closing brace
-- returns: one integer per tick in argument order: its new seq, or 0 for a duplicate.
local cap = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local seenCap = tonumber(ARGV[3])
local deltaCap = tonumber(ARGV[4])
local candleCap = tonumber(ARGV[5])
local tfCount = tonumber(ARGV[6])
local tfs = {}
for f = 1, tfCount do tfs[f] = tonumber(ARGV[6 + f]) end
local groups = tonumber(ARGV[7 + tfCount])
local perGroup = 4 + 2 * tfCount
local queue = KEYS[1]
local result = {}
local a = 8 + tfCount -- first argument of the first group
for g = 0, groups - 1 do
  local b = 4 + perGroup * g
  local ticksKey, seqKey, seenKey, deltaKey = KEYS[b], KEYS[b + 1], KEYS[b + 2], KEYS[b + 3]
  local channel, pair, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  local bodies, ts, prices, ids = {}, {}, {}, {}
  local newest = 0
  for i = 1, n do
    local identity, t, price, body = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3]
    a = a + 4
    if redis.call('ZADD', seenKey, 'NX', t, identity) == 1 then
      local k = #bodies + 1
      bodies[k], ts[k], prices[k], ids[k] = body, t, price, identity
      if t > newest then newest = t end
      result[#result + 1] = -1 -- replaced by the seq below
    else
      result[#result + 1] = 0
    end
  end
  local fresh = #bodies
  if fresh > 0 then
    local last = redis.call('INCRBY', seqKey, fresh)
    local first = last - fresh + 1
    local full, deltas = {}, {}
    for i = 1, fresh do
      local seq = first + i - 1
      local json = bodies[i] .. ',"seq":' .. seq .. '}'
      full[i] = json
      deltas[i] = seq .. SEP .. string.format('%d', ts[i]) .. SEP .. prices[i] .. SEP .. ids[i]
      redis.call('PUBLISH', channel, json)
    end
    -- One queue entry for the group: the persister's work per tick stays small at high rates.
    redis.call('XADD', queue, '*', 't', '[' .. table.concat(full, ',') .. ']', 'n', fresh)
    redis.call('INCRBY', KEYS[3], fresh)
    -- LPUSH takes many values at once; unpack is bounded by Lua's stack, so push in chunks.
    for i = 1, fresh, 1000 do
      local j = math.min(i + 999, fresh)
      redis.call('LPUSH', ticksKey, unpack(full, i, j))
      redis.call('LPUSH', deltaKey, unpack(deltas, i, j))
    end
    redis.call('LTRIM', ticksKey, 0, cap - 1)
    redis.call('LTRIM', deltaKey, 0, deltaCap - 1)
    redis.call('SADD', KEYS[2], pair)
    redis.call('ZREMRANGEBYSCORE', seenKey, '-inf', '(' .. (newest - window))
    if redis.call('ZCARD', seenKey) > seenCap then
      redis.call('ZREMRANGEBYRANK', seenKey, 0, -(seenCap + 1))
    end
    -- Candle caches that exist are kept current here, so a read never misses an accepted tick.
    for f = 1, tfCount do
      local stateKey, viewKey = KEYS[b + 2 + 2 * f], KEYS[b + 3 + 2 * f]
      if redis.call('EXISTS', stateKey) == 1 then
        apply_ticks(stateKey, tfs[f], ts, prices, ids)
        render(stateKey, viewKey, candleCap)
      end
    end
    -- fill in the seqs of this group's fresh ticks, in order
    local s = first - 1
    for r = #result - n + 1, #result do
      if result[r] == -1 then
        s = s + 1
        result[r] = s
      end
    end
  end
end
return result
