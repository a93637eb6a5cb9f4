-- candle-fill.lua: install a candle cache computed from the database, caught up to now.
-- (candle-lib.lua is prepended at load time.)
--
-- KEYS[1] candle state (hash)   KEYS[2] historical:<SYM>:<TF> view
-- KEYS[3] seq:<SYM>             KEYS[4] cdelta:<SYM>          KEYS[5] cgen:<SYM>
-- ARGV[1] S, the pair's seq when the fill read its data   ARGV[2] TTL in seconds
-- ARGV[3] candles kept (CANDLE_CACHE_SIZE)                 ARGV[4] timeframe length in seconds
-- ARGV[5] the history generation when the fill read its data
-- ARGV[6..] field, state pairs (see candle-lib.lua)
-- Ticks accepted after S were not in what the fill read; they are taken from cdelta:<SYM>.
-- returns: the pair's current seq, or -1 when the read is void (read again): cdelta no longer
-- reaches back to S, or the history was rewritten (an import) since the read.
local stateKey, viewKey, seqKey, deltaKey, genKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
if (redis.call('GET', genKey) or '0') ~= ARGV[5] then return -1 end
local S = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local candleCap = tonumber(ARGV[3])
local tf = tonumber(ARGV[4])
local cur = tonumber(redis.call('GET', seqKey) or '0')
local missing = {}
if cur > S then
  missing = redis.call('LRANGE', deltaKey, 0, cur - S - 1)
  if #missing < cur - S then return -1 end
end
redis.call('DEL', stateKey)
-- The mark keeps an empty state alive, so ingest keeps even an empty history current.
redis.call('HSET', stateKey, MARK, '1')
for i = 6, #ARGV, 2 do redis.call('HSET', stateKey, ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', stateKey, ttl)
local ts, prices, ids = {}, {}, {}
for i = #missing, 1, -1 do -- oldest first
  local f = split(missing[i])
  if tonumber(f[1]) > S then
    ts[#ts + 1], prices[#prices + 1], ids[#ids + 1] = tonumber(f[2]), f[3], f[4]
  end
end
apply_ticks(stateKey, tf, ts, prices, ids)
render(stateKey, viewKey, candleCap)
return cur
