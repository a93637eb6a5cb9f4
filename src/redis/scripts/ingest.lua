-- ingest.lua: store one micro-batch of validated ticks, atomically and in one round trip.
-- (candle-lib.lua is prepended at load time.) On a Redis Cluster every key passed shares one slot
-- (the caller splits a batch by slot); nothing here touches a key that was not passed.
--
-- Per pair group, 7 + 2 * w keys (w = timeframes passed for it, see ARGV):
--   ticks:<SYM>    recent list, newest first      seq:<SYM>     per-pair counter
--   seen:<SYM>     identities of recent ticks (score = tick timestamp)
--   cdelta:<SYM>   candle inputs of recent ticks, newest first (for cache fills)
--   ctail:<SYM>    the pair's candle tail (see candle-lib.lua): which caches exist
--   the queue for the persister (stream): one entry per group, field t = JSON array of its new
--                  ticks, field n = how many (the persist queue; on a cluster the pair's outbox)
--   a count of unstored ticks, raised by the group's new ticks (groups may share one: raised once)
--   then per timeframe passed: cstate:<SYM>:<TF>, historical:<SYM>:<TF>
-- ARGV[1]  cap of ticks:<SYM>            ARGV[2]  dedup window in ms
-- ARGV[3]  dedup cap per pair            ARGV[4]  cap of cdelta:<SYM>
-- ARGV[5]  candles kept per cache (CANDLE_CACHE_SIZE)
-- ARGV[6]  flags: 1 = PUBLISH each new tick on its group's channel, 2 = SPUBLISH it (sharded,
--          on a cluster), neither = the caller publishes (after WAIT)
-- ARGV[7]  F, number of timeframes (core/timeframe.ts's TIMEFRAMES), then F lengths in seconds
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
local flags = tonumber(ARGV[6])
local publish = nil
if bit.band(flags, 1) ~= 0 then publish = 'PUBLISH' elseif bit.band(flags, 2) ~= 0 then publish = 'SPUBLISH' end
local tfCount = tonumber(ARGV[7])
local tfMs = {}
for f = 1, tfCount do tfMs[f] = tonumber(ARGV[7 + f]) * 1000 end
local groupCount = tonumber(ARGV[8 + tfCount])

-- Pass 1: where each group's keys and ticks are, and its candle tail. Nothing is written, so a
-- group whose caches were not all passed can still be sent back.
local groups = {}
local a, b = 9 + tfCount, 1
local retry = false
for g = 1, groupCount do
  local grp = { keys = b, channel = ARGV[a], pair = ARGV[a + 1], passed = {} }
  local w = tonumber(ARGV[a + 2])
  a = a + 3
  for i = 1, w do grp.passed[tonumber(ARGV[a + i - 1])] = b + 7 + 2 * (i - 1) end
  a = a + w
  grp.n, grp.args = tonumber(ARGV[a]), a + 1
  a = a + 1 + 4 * grp.n
  b = b + 7 + 2 * w
  local fq = redis.call('HMGET', KEYS[grp.keys + 4], 'f', 'q')
  local fast = fq[1]
  grp.mask, grp.q = 0, fq[2]
  if fast then
    grp.fast = fast_decode(fast)
    for i = 1, grp.fast.n do
      local f = grp.fast.nums[4 * i - 3]
      grp.mask = bit.bor(grp.mask, bit.lshift(1, f - 1))
      if not grp.passed[f] then retry = true end
    end
  end
  groups[g] = grp
end
if retry then
  local reply = { -1 }
  for g = 1, groupCount do reply[g + 1] = groups[g].mask end
  return reply
end

-- Whether every view of the group's caches still exists (a view expires with its cstate).
local function all_views_exist(grp)
  local views = {}
  for i = 1, grp.fast.n do views[i] = KEYS[grp.passed[grp.fast.nums[4 * i - 3]] + 1] end
  return redis.call('EXISTS', unpack(views)) == #views
end

-- The common case: every tick is the pair's newest and inside the range of every forming
-- candle, so each view changes from its close on (close, volume) and only ctail's f changes.
-- Returns false, having written nothing, when that is not so.
local function fast_path(grp, ts, ids, prices, last)
  local F = grp.fast
  if F.fend < 0 then return false end
  local c, ca, ck = F.c, F.ca, F.ck
  for i = 1, #ts do
    local t, k, p = ts[i], ids[i], tonumber(prices[i])
    if t >= F.fend or p > F.hmin or p < F.lmax or not before(ca, ck, t, k) then return false end
    c, ca, ck = prices[i], t, k
  end
  if not all_views_exist(grp) then return false end
  local head = c .. ',"volume":'
  local ends = {}
  local nums = F.nums
  for i = 4, 4 * F.n, 4 do
    local vs = tostring(last - nums[i - 1]) -- (below 10^14 a whole number prints as one)
    local len = #head + #vs + 1
    local room = nums[i]
    if len > room then
      room = len
      nums[i] = len
    end
    local e = ends[room - len]
    if not e then
      e = '}' .. string.rep(' ', room - len) .. ']'
      ends[room - len] = e
    end
    redis.call('SETRANGE', KEYS[grp.passed[nums[i - 3]] + 1], nums[i - 2], head .. vs .. e)
  end
  F.c, F.ca, F.ck = c, ca, ck
  redis.call('HSET', KEYS[grp.keys + 4], 'f', fast_encode(F), 'q', last)
  return true
end

-- Any other case: the whole tail, tick by tick (see apply_tick), dropping caches whose view is gone.
local function slow_path(grp, ts, ids, prices, first, last)
  local tailKey = KEYS[grp.keys + 4]
  local tail = tail_load(tailKey)
  local tfs = {}
  for _, r in ipairs(tail.tfs) do
    local k = grp.passed[r.f]
    local x = { r = r, f = r.f, size = tfMs[r.f], state = KEYS[k], view = KEYS[k + 1], render = false, high = false, expire = false, drop = false }
    if redis.call('EXISTS', x.view) == 1 then tfs[#tfs + 1] = x else redis.call('DEL', x.state) end
  end
  for i = 1, #ts do apply_tick(tail, tfs, ts[i], ids[i], prices[i], first + i - 1) end
  local kept, records, mask = {}, {}, 0
  for _, x in ipairs(tfs) do
    if x.drop then
      redis.call('DEL', x.state, x.view)
    else
      kept[#kept + 1], records[#records + 1] = x, x.r
      mask = bit.bor(mask, bit.lshift(1, x.f - 1))
    end
  end
  write_views(tail, kept, candleCap, last)
  tail.tfs, tail.q = records, last
  tail_store(tailKey, tail)
  return mask
end

-- Caches older than the pair's ticks (Redis restarted from its AOF): all of the pair's go.
local function drop_caches(grp)
  local gone = { KEYS[grp.keys + 4] }
  for i = 1, grp.fast.n do
    local k = grp.passed[grp.fast.nums[4 * i - 3]]
    gone[#gone + 1], gone[#gone + 2] = KEYS[k], KEYS[k + 1]
  end
  redis.call('DEL', unpack(gone))
end

-- Pass 2: store.
local result = {}
-- Raises of the unstored counts, one INCRBY per distinct key at the end.
local counted, countOrder = {}, {}
for g = 1, groupCount do
  local grp = groups[g]
  local kb = grp.keys
  local ticksKey, seqKey, seenKey, deltaKey = KEYS[kb], KEYS[kb + 1], KEYS[kb + 2], KEYS[kb + 3]
  local bodies, ts, stamps, prices, ids = {}, {}, {}, {}, {}
  local newest = 0
  -- Dedup: one tick alone asks ZADD NX; more ask ZMSCORE once (a repeat inside the batch counts
  -- as seen) and add the new ones with one ZADD.
  local known
  if grp.n > 1 then
    local asked = {}
    for i = 0, grp.n - 1 do asked[i + 1] = ARGV[grp.args + 4 * i] end
    known = {}
    for i = 1, grp.n, 1000 do
      local part = redis.call('ZMSCORE', seenKey, unpack(asked, i, math.min(i + 999, grp.n)))
      for j = 1, #part do known[i + j - 1] = part[j] end
    end
  end
  local inBatch, adds = {}, {}
  local at = grp.args
  for i = 1, grp.n do
    local identity, stamp = ARGV[at], ARGV[at + 1]
    local t = tonumber(stamp)
    local new
    if known then
      new = not known[i] and not inBatch[identity]
      if new then
        inBatch[identity] = true
        adds[#adds + 1], adds[#adds + 2] = stamp, identity
      end
    else
      new = redis.call('ZADD', seenKey, 'NX', t, identity) == 1
    end
    if new then
      local k = #bodies + 1
      bodies[k], ts[k], stamps[k], prices[k], ids[k] = ARGV[at + 3], t, stamp, ARGV[at + 2], identity
      if t > newest then newest = t end
      result[#result + 1] = -1 -- replaced by the seq below
    else
      result[#result + 1] = 0
    end
    at = at + 4
  end
  for i = 1, #adds, 1000 do redis.call('ZADD', seenKey, 'NX', unpack(adds, i, math.min(i + 999, #adds))) end
  local fresh = #bodies
  if fresh > 0 then
    local last = redis.call('INCRBY', seqKey, fresh)
    local first = last - fresh + 1
    local full, deltas = {}, {}
    for i = 1, fresh do
      local seq = first + i - 1
      local json = bodies[i] .. ',"seq":' .. seq .. '}'
      full[i] = json
      deltas[i] = seq .. SEP .. stamps[i] .. SEP .. prices[i] .. SEP .. ids[i]
      if publish then redis.call(publish, grp.channel, json) end
    end
    -- One queue entry for the group: the persister's work per tick stays small at high rates.
    redis.call('XADD', KEYS[kb + 5], '*', 't', '[' .. table.concat(full, ',') .. ']', 'n', fresh)
    local countKey = KEYS[kb + 6]
    if not counted[countKey] then
      counted[countKey] = 0
      countOrder[#countOrder + 1] = countKey
    end
    counted[countKey] = counted[countKey] + fresh
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
    if math.floor(last / 256) ~= math.floor((first - 1) / 256) then
      redis.call('ZREMRANGEBYSCORE', seenKey, '-inf', '(' .. (newest - window))
      if redis.call('ZCARD', seenKey) > seenCap then
        redis.call('ZREMRANGEBYRANK', seenKey, 0, -(seenCap + 1))
      end
    end
    -- The caches that exist are kept current here, so a read never misses an accepted tick.
    if grp.fast then
      cache_writes()
      if not cache_current(grp.q, first - 1) then
        drop_caches(grp)
        grp.mask = 0
      elseif not fast_path(grp, ts, ids, prices, last) then
        grp.mask = slow_path(grp, ts, ids, prices, first, last)
      end
      all_writes()
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
for _, k in ipairs(countOrder) do redis.call('INCRBY', k, counted[k]) end
for g = 1, groupCount do result[#result + 1] = groups[g].mask end
return result
