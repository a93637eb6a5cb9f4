-- ingest.lua: store one micro-batch of validated ticks, atomically and in one round trip.
-- (candle-lib.lua is prepended at load time.)
--
-- KEYS[1]                 persist queue (stream): one entry per pair group, field t = JSON array
--                         of its new ticks, field n = how many
-- KEYS[2]                 set of known pairs
-- KEYS[3]                 count of ticks in the persist queue
-- then per pair group, 5 + 2 * w keys (w = timeframes passed for it, see ARGV):
--   ticks:<SYM>    recent list, newest first      seq:<SYM>     per-pair counter
--   seen:<SYM>     identities of recent ticks (score = tick timestamp)
--   cdelta:<SYM>   candle inputs of recent ticks, newest first (for cache fills)
--   ctail:<SYM>    the pair's candle tail (see candle-lib.lua): which caches exist
--   then per timeframe passed: cstate:<SYM>:<TF>, historical:<SYM>:<TF>
-- ARGV[1]  cap of ticks:<SYM>            ARGV[2]  dedup window in ms
-- ARGV[3]  dedup cap per pair            ARGV[4]  cap of cdelta:<SYM>
-- ARGV[5]  candles kept per cache (CANDLE_CACHE_SIZE)
-- ARGV[6]  F, number of timeframes, then F lengths in seconds, then F names
-- then G, number of pair groups, and for each group: channel (updates:<SYM>), pair name, w and
-- the w timeframes passed (1-based indices into the F), n and n times:
--   identity, timestamp, price (as sent), tick JSON without its closing brace
-- Only the caches that exist need their keys passed; a caller that does not know which exist
-- may pass all F.
-- returns: one integer per tick in argument order: its new seq, or 0 for a duplicate; then, per
-- group, the timeframes cached after this call as a bit mask (bit i-1 for timeframe i).
-- Or, when a group has a cache whose keys were not passed: -1 and, per group, the timeframes
-- cached as a bit mask. Nothing was written then: call again passing those.
local cap = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local seenCap = tonumber(ARGV[3])
local deltaCap = tonumber(ARGV[4])
local candleCap = tonumber(ARGV[5])
local tfCount = tonumber(ARGV[6])
local tfMs, tfIndex = {}, {}
for f = 1, tfCount do
  tfMs[f] = tonumber(ARGV[6 + f]) * 1000
  tfIndex[ARGV[6 + tfCount + f]] = f
end
local groupCount = tonumber(ARGV[7 + 2 * tfCount])

-- Pass 1: where each group's keys and ticks are, and its candle tail. Nothing is written, so a
-- group whose caches were not all passed can still be sent back.
local groups = {}
local a, b = 8 + 2 * tfCount, 4
local retry = false
for g = 1, groupCount do
  local grp = { keys = b, channel = ARGV[a], pair = ARGV[a + 1], passed = {} }
  local w = tonumber(ARGV[a + 2])
  a = a + 3
  for i = 1, w do grp.passed[tonumber(ARGV[a + i - 1])] = b + 5 + 2 * (i - 1) end
  a = a + w
  grp.n, grp.args = tonumber(ARGV[a]), a + 1
  a = a + 1 + 4 * grp.n
  b = b + 5 + 2 * w
  grp.tail = tail_decode(redis.call('GET', KEYS[grp.keys + 4]))
  grp.mask = 0
  if grp.tail then
    for _, r in ipairs(grp.tail.tfs) do
      local f = tfIndex[r.name]
      if f then -- (a timeframe this version does not know is dropped below)
        grp.mask = bit.bor(grp.mask, bit.lshift(1, f - 1))
        if not grp.passed[f] then retry = true end
      end
    end
  end
  groups[g] = grp
end
if retry then
  local reply = { -1 }
  for g = 1, groupCount do reply[g + 1] = groups[g].mask end
  return reply
end

-- The caches of a group that still exist (a view expires with its cstate), as apply_tick wants them.
local function live_caches(grp)
  local tfs, views = {}, {}
  for _, r in ipairs(grp.tail.tfs) do
    local f = tfIndex[r.name]
    if f then
      local k = grp.passed[f]
      tfs[#tfs + 1] = { r = r, f = f, size = tfMs[f], state = KEYS[k], view = KEYS[k + 1] }
      views[#views + 1] = KEYS[k + 1]
    end
  end
  if #views > 0 and redis.call('EXISTS', unpack(views)) < #views then
    local alive = {}
    for _, x in ipairs(tfs) do
      if redis.call('EXISTS', x.view) == 1 then alive[#alive + 1] = x else redis.call('DEL', x.state) end
    end
    tfs = alive
  end
  return tfs
end

-- Keeps the tail's records of `tfs` (dropping any marked), writes it back, returns the mask.
local function store_tail(grp, tfs)
  local records, mask = {}, 0
  for _, x in ipairs(tfs) do
    if x.drop then
      redis.call('DEL', x.state, x.view)
    else
      records[#records + 1] = x.r
      mask = bit.bor(mask, bit.lshift(1, x.f - 1))
    end
  end
  grp.tail.tfs = records
  local tailKey = KEYS[grp.keys + 4]
  if #records == 0 then
    redis.call('DEL', tailKey)
  else
    redis.call('SET', tailKey, tail_encode(grp.tail), 'KEEPTTL')
  end
  return mask
end

-- Pass 2: store.
local result = {}
local queued = 0
for g = 1, groupCount do
  local grp = groups[g]
  local kb = grp.keys
  local ticksKey, seqKey, seenKey, deltaKey = KEYS[kb], KEYS[kb + 1], KEYS[kb + 2], KEYS[kb + 3]
  local bodies, ts, prices, ids = {}, {}, {}, {}
  local newest = 0
  local at = grp.args
  for i = 1, grp.n do
    local identity, t = ARGV[at], tonumber(ARGV[at + 1])
    if redis.call('ZADD', seenKey, 'NX', t, identity) == 1 then
      local k = #bodies + 1
      bodies[k], ts[k], prices[k], ids[k] = ARGV[at + 3], t, ARGV[at + 2], identity
      if t > newest then newest = t end
      result[#result + 1] = -1 -- replaced by the seq below
    else
      result[#result + 1] = 0
    end
    at = at + 4
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
      deltas[i] = seq .. SEP .. fmt_int(ts[i]) .. SEP .. prices[i] .. SEP .. ids[i]
      redis.call('PUBLISH', grp.channel, json)
    end
    -- One queue entry for the group: the persister's work per tick stays small at high rates.
    redis.call('XADD', KEYS[1], '*', 't', '[' .. table.concat(full, ',') .. ']', 'n', fresh)
    queued = queued + fresh
    -- LPUSH takes many values at once; unpack is bounded by Lua's stack, so push in chunks.
    local deltaLen = 0
    for i = 1, fresh, 1000 do
      local j = math.min(i + 999, fresh)
      redis.call('LPUSH', ticksKey, unpack(full, i, j))
      deltaLen = redis.call('LPUSH', deltaKey, unpack(deltas, i, j))
    end
    redis.call('LTRIM', ticksKey, 0, cap - 1)
    -- cdelta and seen are internal: trimmed now and then, not on every call.
    if deltaLen > deltaCap + 1000 then redis.call('LTRIM', deltaKey, 0, deltaCap - 1) end
    redis.call('SADD', KEYS[2], grp.pair)
    if math.floor(last / 256) ~= math.floor((first - 1) / 256) then
      redis.call('ZREMRANGEBYSCORE', seenKey, '-inf', '(' .. (newest - window))
      if redis.call('ZCARD', seenKey) > seenCap then
        redis.call('ZREMRANGEBYRANK', seenKey, 0, -(seenCap + 1))
      end
    end
    -- The caches that exist are kept current here, so a read never misses an accepted tick.
    if grp.tail then
      local tfs = live_caches(grp)
      for i = 1, fresh do apply_tick(grp.tail, tfs, ts[i], ids[i], prices[i], first + i - 1) end
      local kept = {}
      for _, x in ipairs(tfs) do if not x.drop then kept[#kept + 1] = x end end
      write_views(grp.tail, kept, candleCap, last)
      grp.mask = store_tail(grp, tfs)
    end
    -- fill in the seqs of this group's fresh ticks, in order
    local s = first - 1
    for r = #result - grp.n + 1, #result do
      if result[r] == -1 then
        s = s + 1
        result[r] = s
      end
    end
  end
end
if queued > 0 then redis.call('INCRBY', KEYS[3], queued) end
for g = 1, groupCount do result[#result + 1] = groups[g].mask end
return result
