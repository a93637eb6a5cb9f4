-- candle-fill.lua: install a candle cache computed from the database, caught up to now.
-- (candle-lib.lua is prepended at load time.)
--
-- KEYS[1] cstate:<SYM>:<TF>     KEYS[2] historical:<SYM>:<TF>   KEYS[3] seq:<SYM>
-- KEYS[4] cdelta:<SYM>          KEYS[5] cgen:<SYM>              KEYS[6] ctail:<SYM>
-- ARGV[1] S, the pair's seq when the fill read its data   ARGV[2] TTL in seconds
-- ARGV[3] candles kept (CANDLE_CACHE_SIZE)                 ARGV[4] timeframe length in seconds
-- ARGV[5] the history generation when the fill read its data
-- ARGV[6] the timeframe's index in TIMEFRAMES (1-based)
-- ARGV[7..] bucket, state pairs (bucket open in epoch s; state as in cstate), any order
-- Ticks accepted after S were not in what the fill read; they are taken from cdelta:<SYM>.
-- returns: the pair's current seq, or -1 when the read is void (read again): cdelta no longer
-- reaches back to S, or the history was rewritten (an import) since the read; -2 when the pair's
-- other caches are stale (see below).
local stateKey, viewKey, seqKey, deltaKey, genKey, tailKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
if (redis.call('GET', genKey) or '0') ~= ARGV[5] then return -1 end
cache_writes() -- everything written below is cache
local S = tonumber(ARGV[1])
local ttlMs = tonumber(ARGV[2]) * 1000
local candleCap = tonumber(ARGV[3])
local size = tonumber(ARGV[4]) * 1000
local index = tonumber(ARGV[6])
local cur = tonumber(redis.call('GET', seqKey) or '0')
local missing = {}
if cur > S then
  missing = redis.call('LRANGE', deltaKey, 0, cur - S - 1)
  if #missing < cur - S then return -1 end
end
-- A tail behind the pair's seq (Redis restarted from its AOF) with other timeframes: their keys
-- are not ours to touch (a cluster), so the caller drops them (candle-check.lua) and calls again.
local tail = tail_load(tailKey)
if tail and not cache_current(tail.q, cur) then
  for _, other in ipairs(tail.tfs) do
    if other.f ~= index then return -2 end
  end
end
tail = tail or { tfs = {} }

-- The newest bucket read is the forming candle (kept in the tail); the others go to cstate.
local newest
for i = 7, #ARGV, 2 do
  if not newest or tonumber(ARGV[i]) > tonumber(ARGV[newest]) then newest = i end
end
redis.call('DEL', stateKey)
local closed = {}
for i = 7, #ARGV, 2 do
  if i ~= newest then
    closed[#closed + 1] = ARGV[i]
    closed[#closed + 1] = ARGV[i + 1]
  end
end
for i = 1, #closed, 1000 do redis.call('HSET', stateKey, unpack(closed, i, math.min(i + 999, #closed))) end
local r = tf_record(index)
local own = { c = '', ca = -1, ck = '', tfs = { r } }
if newest then
  local s = decode(ARGV[newest + 1])
  r.T = tonumber(ARGV[newest]) * 1000
  r.fe = r.T + size
  r.o, r.oa, r.ok, r.h, r.hn, r.l, r.ln, r.b = s.o, s.oa, s.ok, s.h, tonumber(s.h), s.l, tonumber(s.l), S - s.v
  own.c, own.ca, own.ck = s.c, s.ca, s.ck
end

-- Catch up with the ticks accepted since S, oldest first, as ingest.lua applied them to the
-- pair's other caches.
local x = { r = r, size = size, state = stateKey, view = viewKey }
for i = #missing, 1, -1 do
  local f = split(missing[i])
  local seq = tonumber(f[1])
  if seq > S then apply_tick(own, { x }, tonumber(f[2]), f[4], f[3], seq) end
end
render(r, stateKey, viewKey, candleCap, own, cur, ttlMs)
expire_like_view(stateKey, viewKey)

-- This timeframe joins the pair's tail (or replaces its record there).
local placed = false
for i, other in ipairs(tail.tfs) do
  if other.f == index then
    tail.tfs[i], placed = r, true
  end
end
if not placed then tail.tfs[#tail.tfs + 1] = r end
tail.c, tail.ca, tail.ck, tail.q = own.c, own.ca, own.ck, cur
tail_store(tailKey, tail)
local at = redis.call('PEXPIRETIME', viewKey)
if redis.call('PEXPIRETIME', tailKey) < at then redis.call('PEXPIREAT', tailKey, at) end
return cur
