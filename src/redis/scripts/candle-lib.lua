-- candle-lib.lua: candle state helpers shared by ingest.lua and candle-fill.lua (prepended to
-- each at load time). A candle state is one hash field per bucket (field = bucket open, epoch s):
--   open SEP high SEP low SEP close SEP volume SEP openAt SEP openKey SEP closeAt SEP closeKey
-- Prices stay the strings QuFLX sent (JavaScript's shortest form), so nothing is rounded.
-- Open and close belong to the first and last tick by (timestamp, identity key), keys compared
-- byte by byte, as core/candle.ts and the SQL aggregation (COLLATE "C") do.
local SEP = '\31'
local MARK = '_'

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

local function decode(s)
  local f = split(s)
  return { o = f[1], h = f[2], l = f[3], c = f[4], v = tonumber(f[5]),
           oa = tonumber(f[6]), ok = f[7], ca = tonumber(f[8]), ck = f[9] }
end

local function encode(c)
  return table.concat({ c.o, c.h, c.l, c.c, tostring(c.v), string.format('%d', c.oa), c.ok,
                        string.format('%d', c.ca), c.ck }, SEP)
end

-- Adds ticks to the state hash. ts, prices, keys are parallel arrays; tf in seconds.
local function apply_ticks(stateKey, tf, ts, prices, keys)
  local touched = {}
  for i = 1, #ts do
    local t = ts[i]
    local bucket = string.format('%d', math.floor(t / 1000 / tf) * tf)
    local c = touched[bucket]
    if c == nil then
      local raw = redis.call('HGET', stateKey, bucket)
      if raw then c = decode(raw) end
    end
    local p, ps, k = tonumber(prices[i]), prices[i], keys[i]
    if c == nil then
      c = { o = ps, h = ps, l = ps, c = ps, v = 1, oa = t, ok = k, ca = t, ck = k }
    else
      if p > tonumber(c.h) then c.h = ps end
      if p < tonumber(c.l) then c.l = ps end
      if before(t, k, c.oa, c.ok) then c.o, c.oa, c.ok = ps, t, k end
      if before(c.ca, c.ck, t, k) then c.c, c.ca, c.ck = ps, t, k end
      c.v = c.v + 1
    end
    touched[bucket] = c
  end
  for bucket, c in pairs(touched) do redis.call('HSET', stateKey, bucket, encode(c)) end
end

-- Keeps the newest `cap` buckets and writes the contract view: a JSON array of
-- {time, open, high, low, close, volume}, oldest first, expiring with the state.
local function render(stateKey, viewKey, cap)
  local all = redis.call('HGETALL', stateKey)
  local list = {}
  for i = 1, #all, 2 do
    if all[i] ~= MARK then list[#list + 1] = { t = tonumber(all[i]), f = all[i], c = all[i + 1] } end
  end
  table.sort(list, function(x, y) return x.t < y.t end)
  local first = 1
  if #list > cap then
    first = #list - cap + 1
    for i = 1, first - 1 do redis.call('HDEL', stateKey, list[i].f) end
  end
  local parts = {}
  for i = first, #list do
    local c = decode(list[i].c)
    parts[#parts + 1] = '{"time":' .. list[i].f .. ',"open":' .. c.o .. ',"high":' .. c.h .. ',"low":' .. c.l ..
      ',"close":' .. c.c .. ',"volume":' .. tostring(c.v) .. '}'
  end
  local ttl = redis.call('PTTL', stateKey)
  if ttl > 0 then
    redis.call('SET', viewKey, '[' .. table.concat(parts, ',') .. ']', 'PX', ttl)
  end
end
