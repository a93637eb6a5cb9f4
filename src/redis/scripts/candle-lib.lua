-- candle-lib.lua: the candle cache of a pair, shared by ingest.lua, candle-fill.lua,
-- candle-states.lua and candle-drop.lua (prepended to each at load time).
--
-- A pair's cache of timeframe TF is three pieces:
--   historical:<SYM>:<TF>  the contract view: JSON array of the newest CANDLE_CACHE_SIZE candles,
--                          oldest first. The forming (newest) candle is written last, as
--                          {"time":T,"open":O,"high":H,"low":L,"close":C,"volume":V}, then
--                          padding spaces, then ']' (whitespace before ']' is plain JSON), so
--                          that a tick rewrites only the few bytes from H on, in place (SETRANGE).
--   cstate:<SYM>:<TF>      hash of the closed candles' states, one field per bucket (bucket open,
--                          epoch s): open SEP high SEP low SEP close SEP volume SEP openAt SEP
--                          openKey SEP closeAt SEP closeKey
--   ctail:<SYM>            hash for all timeframes of the pair: the pair's close (its latest
--                          tick) and, per cached timeframe, the forming candle and where it
--                          sits in the view; its list of timeframes says which caches exist.
--                          Field f holds what a tick inside every forming candle's range needs
--                          (see FAST_*), field s the rest (see SLOW_*), field q the pair's seq
--                          the caches are current at.
-- The view and cstate expire at the same instant; ctail lives as long as the longest view.
-- The caches are written for replicas but not for the append-only file (cache_writes): most of a
-- warm tick's cost in Redis was writing them there. After Redis restarts from its AOF, caches
-- come from the file's last rewrite, older than the seq the AOF restored: ctail's q then differs
-- from seq:<SYM>, and the caches are not to be read or updated but dropped (cache_current).
-- That holds only if nothing but deletions of cache keys is ever in the file: every script that
-- writes one calls cache_writes() first (a deleted cache is never taken for current).
-- Nothing that is the tick itself (ticks, seq, the queue) is ever left out of the file.
-- Timeframes are named by their 1-based index in core/timeframe.ts's TIMEFRAMES (a change of that
-- list needs a new name for ctail).
-- Prices stay the strings QuFLX sent (JavaScript's shortest form), so nothing is rounded.
-- Open and close belong to the first and last tick by (timestamp, identity key), keys compared
-- byte by byte, as core/candle.ts and the SQL aggregation (COLLATE "C") do.
-- The forming candle of every timeframe holds the pair's latest tick, so their close is one
-- (the pair's close).
local SEP = '\31'
-- ctail f: close price, close time (ms), close key, the earliest end of a forming bucket (ms; -1
-- when a cache has no candle yet), the lowest forming high, the highest forming low, timeframe
-- count; then per timeframe: index, offset of the close in the view (0-based), volume base
-- (volume = pair seq - base), room (bytes from the close to before ']').
local FAST_HEAD = '<sdsdddd'
local FAST_TF = 'dddd'
-- ctail s: timeframe count; then per timeframe: index, forming bucket open and end (ms), offset of
-- the high in the view, high and low as numbers, open time, then high, low, open, open key.
local SLOW_HEAD = '<d'
local SLOW_TF = 'dddddddssss'
-- Between the high and the close in the view: ',"low":' .. low .. ',"close":'
local HIGH_TO_CLOSE = 16

local function key_less(a, b)
  local la, lb = #a, #b
  for i = 1, math.min(la, lb) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return la < lb
end

local function before(at1, key1, at2, key2)
  return at1 < at2 or (at1 == at2 and key_less(key1, key2))
end

local function split(s)
  local out, from = {}, 1
  while true do
    local at = string.find(s, SEP, from, true)
    if not at then
      out[#out + 1] = string.sub(s, from)
      return out
    end
    out[#out + 1] = string.sub(s, from, at - 1)
    from = at + 1
  end
end

local function decode(s)
  local f = split(s)
  return { o = f[1], h = f[2], l = f[3], c = f[4], v = tonumber(f[5]),
           oa = tonumber(f[6]), ok = f[7], ca = tonumber(f[8]), ck = f[9] }
end

-- A whole number as text ('%d' is 32 bits wide in some Lua builds, as the emulation's).
local function fmt_int(n) return string.format('%.0f', n) end

local function encode(c)
  return table.concat({ c.o, c.h, c.l, c.c, fmt_int(c.v), fmt_int(c.oa), c.ok, fmt_int(c.ca), c.ck }, SEP)
end

-- The fast field: { c, ca, ck, fend, hmin, lmax, n, nums = { index, close offset, base, room, ... } }.
local function fast_decode(blob)
  local c, ca, ck, fend, hmin, lmax, n, pos = struct.unpack(FAST_HEAD, blob)
  return { c = c, ca = ca, ck = ck, fend = fend, hmin = hmin, lmax = lmax, n = n,
           nums = { struct.unpack('<' .. string.rep(FAST_TF, n), blob, pos) } }
end

local function fast_encode(f)
  return struct.pack(FAST_HEAD .. string.rep(FAST_TF, f.n), f.c, f.ca, f.ck, f.fend, f.hmin, f.lmax, f.n, unpack(f.nums, 1, 4 * f.n))
end

-- The whole tail of a pair: { c, ca, ck (ca = -1: no tick yet), tfs = { record... } }, or nil
-- when no cache exists. A record: { f, T, fe, b, hpos, slot, hn, ln, oa, h, l, o, ok }.
local function tail_load(tailKey)
  local both = redis.call('HMGET', tailKey, 'f', 's', 'q')
  if not both[1] then return nil end
  local fast = fast_decode(both[1])
  local tail = { c = fast.c, ca = fast.ca, ck = fast.ck, q = both[3], tfs = {} }
  local n, pos = struct.unpack(SLOW_HEAD, both[2])
  for i = 1, n do
    local f, T, fe, hpos, hn, ln, oa, h, l, o, ok
    f, T, fe, hpos, hn, ln, oa, h, l, o, ok, pos = struct.unpack(SLOW_TF, both[2], pos)
    local j = 4 * (i - 1)
    local cpos, b, room = fast.nums[j + 2], fast.nums[j + 3], fast.nums[j + 4]
    tail.tfs[i] = { f = f, T = T, fe = fe, b = b, hpos = hpos, slot = room + cpos - hpos, hn = hn, ln = ln, oa = oa,
                    h = h, l = l, o = o, ok = ok }
  end
  return tail
end

local function tail_store(tailKey, tail)
  local n = #tail.tfs
  if n == 0 then
    redis.call('DEL', tailKey)
    return
  end
  local fend, hmin, lmax = math.huge, math.huge, -math.huge
  local nums, slow = {}, { struct.pack(SLOW_HEAD, n) }
  for i, r in ipairs(tail.tfs) do
    if r.T < 0 then fend = -1 elseif fend >= 0 then fend = math.min(fend, r.fe) end
    hmin, lmax = math.min(hmin, r.hn), math.max(lmax, r.ln)
    local cpos = r.hpos + #r.h + #r.l + HIGH_TO_CLOSE
    nums[#nums + 1], nums[#nums + 2], nums[#nums + 3], nums[#nums + 4] = r.f, cpos, r.b, r.slot - (cpos - r.hpos)
    slow[i + 1] = struct.pack(SLOW_TF, r.f, r.T, r.fe, r.hpos, r.hn, r.ln, r.oa, r.h, r.l, r.o, r.ok)
  end
  local fast = { c = tail.c, ca = tail.ca, ck = tail.ck, fend = fend, hmin = hmin, lmax = lmax, n = n, nums = nums }
  redis.call('HSET', tailKey, 'f', fast_encode(fast), 's', table.concat(slow), 'q', tail.q or '-')
end

-- From here on, writes reach replicas but not the append-only file (see the header); back with
-- all_writes(). Script effects are replicated command by command, so this is per write.
local function cache_writes() redis.set_repl(redis.REPL_REPLICA) end
local function all_writes() redis.set_repl(redis.REPL_ALL) end

-- Whether the pair's caches are current at seq `seq` (ctail's q, as stored), a number.
local function cache_current(q, seq) return q ~= nil and q ~= false and tonumber(q) == seq end

-- A timeframe's record in the tail, for a cache with no candle yet.
local function tf_record(f)
  return { f = f, T = -1, fe = -1, b = 0, hpos = 1, slot = 0, hn = 0, ln = 0, oa = 0, h = '', l = '', o = '', ok = '' }
end

local function candle_json(time, o, h, l, c, v)
  return '{"time":' .. time .. ',"open":' .. o .. ',"high":' .. h .. ',"low":' .. l .. ',"close":' .. c .. ',"volume":' .. v .. '}'
end

-- Writes the whole view of timeframe r (record) from cstate and the forming candle, keeping the
-- newest `cap` candles (older closed buckets are dropped from cstate). `px`: a TTL in ms for a
-- new view; nil keeps the view's TTL. Sets r.hpos and r.slot.
local function render(r, stateKey, viewKey, cap, tail, seq, px)
  local all = redis.call('HGETALL', stateKey)
  local list = {}
  for i = 1, #all, 2 do list[#list + 1] = { t = tonumber(all[i]), f = all[i], s = all[i + 1] } end
  table.sort(list, function(x, y) return x.t < y.t end)
  local keep = cap
  if r.T >= 0 then keep = cap - 1 end
  local first = 1
  if #list > keep then
    first = #list - keep + 1
    local old = {}
    for i = 1, first - 1 do old[#old + 1] = list[i].f end
    for i = 1, #old, 1000 do redis.call('HDEL', stateKey, unpack(old, i, math.min(i + 999, #old))) end
  end
  local parts = {}
  for i = first, #list do
    local c = decode(list[i].s)
    parts[#parts + 1] = candle_json(list[i].f, c.o, c.h, c.l, c.c, fmt_int(c.v))
  end
  local body = table.concat(parts, ',')
  local view
  if r.T < 0 then
    view = '[' .. body .. ']'
    r.hpos, r.slot = #view - 1, 0
  else
    if #parts > 0 then body = body .. ',' end
    local head = '[' .. body .. '{"time":' .. fmt_int(r.T / 1000) .. ',"open":' .. r.o .. ',"high":'
    local payload = r.h .. ',"low":' .. r.l .. ',"close":' .. tail.c .. ',"volume":' .. fmt_int(seq - r.b) .. '}'
    view = head .. payload .. ']'
    r.hpos, r.slot = #head, #payload
  end
  if px then redis.call('SET', viewKey, view, 'PX', px) else redis.call('SET', viewKey, view, 'KEEPTTL') end
end

-- Spaces that fill a slot: pads[n] is n spaces then ']'.
local pads = {}
local function pad(n)
  local p = pads[n]
  if not p then
    p = string.rep(' ', n) .. ']'
    pads[n] = p
  end
  return p
end

-- Rewrites the forming candle of timeframe r in place: from its high when that or the low
-- changed (`from_high`), else from its close. Grows the slot when the text got longer.
local function patch(r, viewKey, tail, seq, from_high)
  local at, text, room
  local cv = tail.c .. ',"volume":' .. (seq - r.b) .. '}' -- (below 10^14 a whole number prints as one)
  if from_high then
    at, text, room = r.hpos, r.h .. ',"low":' .. r.l .. ',"close":' .. cv, r.slot
  else
    local skip = #r.h + #r.l + 16 -- ',"low":' and ',"close":'
    at, text, room = r.hpos + skip, cv, r.slot - skip
  end
  if #text > room then
    r.slot = r.slot + #text - room
    room = #text
  end
  redis.call('SETRANGE', viewKey, at, text .. pad(room - #text))
end

-- Loads the cstate of bucket `field` of timeframe r, applies one tick, stores it.
local function apply_closed(stateKey, field, t, k, ps, p)
  local raw = redis.call('HGET', stateKey, field)
  local c
  if raw then
    c = decode(raw)
    if p > tonumber(c.h) then c.h = ps end
    if p < tonumber(c.l) then c.l = ps end
    if before(t, k, c.oa, c.ok) then c.o, c.oa, c.ok = ps, t, k end
    if before(c.ca, c.ck, t, k) then c.c, c.ca, c.ck = ps, t, k end
    c.v = c.v + 1
  else
    c = { o = ps, h = ps, l = ps, c = ps, v = 1, oa = t, ok = k, ca = t, ck = k }
  end
  redis.call('HSET', stateKey, field, encode(c))
end

-- Applies one accepted tick (time t ms, identity k, price string ps, seq) to every timeframe of
-- the tail. tfs[i] = { r = record, size = bucket ms, state = cstate key, mark = { ... } } where
-- mark.render (the view must be rewritten whole), mark.high (the forming high or low moved) and
-- mark.expire (cstate may have been created and needs the view's TTL) collect what to write.
local function apply_tick(tail, tfs, t, k, ps, seq)
  local p = tonumber(ps)
  if tail.ca < 0 or before(tail.ca, tail.ck, t, k) then
    -- The newest tick of the pair: it closes the forming candle of every timeframe.
    for _, x in ipairs(tfs) do
      local r = x.r
      if r.T >= 0 and t < r.T + x.size then
        if p > r.hn then r.h, r.hn, x.high = ps, p, true end
        if p < r.ln then r.l, r.ln, x.high = ps, p, true end
      else
        if r.T >= 0 then
          -- The forming candle closes: it goes to cstate with the ticks it had before this one.
          local closed = { o = r.o, h = r.h, l = r.l, c = tail.c, v = seq - 1 - r.b, oa = r.oa, ok = r.ok, ca = tail.ca, ck = tail.ck }
          redis.call('HSET', x.state, fmt_int(r.T / 1000), encode(closed))
          x.expire = true
        end
        r.T = math.floor(t / x.size) * x.size
        r.fe = r.T + x.size
        r.o, r.oa, r.ok, r.h, r.hn, r.l, r.ln, r.b = ps, t, k, ps, p, ps, p, seq - 1
        x.render = true
      end
    end
    tail.c, tail.ca, tail.ck = ps, t, k
  else
    -- A tick older than the pair's close: it lands in the forming candle or an older one.
    for _, x in ipairs(tfs) do
      local r = x.r
      if r.T < 0 then
        x.drop = true -- a cache with no candle while the pair has ticks: not to be trusted
      elseif t >= r.T then
        if p > r.hn then r.h, r.hn, x.high = ps, p, true end
        if p < r.ln then r.l, r.ln, x.high = ps, p, true end
        if before(t, k, r.oa, r.ok) then
          r.o, r.oa, r.ok = ps, t, k
          x.render = true
        end
      else
        apply_closed(x.state, fmt_int(math.floor(t / x.size) * x.size / 1000), t, k, ps, p)
        r.b = r.b + 1 -- the forming candle's volume stays
        x.expire, x.render = true, true
      end
    end
  end
end

-- Gives cstate the view's expiry (after a write that may have created it).
local function expire_like_view(stateKey, viewKey)
  local at = redis.call('PEXPIRETIME', viewKey)
  if at > 0 then redis.call('PEXPIREAT', stateKey, at) end
end

-- Writes what apply_tick changed to the views of tfs at pair seq `seq` (the views exist).
local function write_views(tail, tfs, cap, seq)
  for _, x in ipairs(tfs) do
    if x.render then
      render(x.r, x.state, x.view, cap, tail, seq, nil)
    else
      patch(x.r, x.view, tail, seq, x.high)
    end
    if x.expire then expire_like_view(x.state, x.view) end
    x.render, x.high, x.expire = false, false, false
  end
end
