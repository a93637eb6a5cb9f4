-- candle-pending.lua: what a candle cache fill needs from Redis, in one atomic read.
--
-- KEYS[1] seq:<SYM>   KEYS[2] cgen:<SYM>   KEYS[4] cdelta:<SYM>
-- KEYS[3] a count at least the pair's unstored ticks: the persist queue's on one node, the
--         pair's own (unstored:{SYM}) on a cluster
-- ARGV[1] cap of cdelta:<SYM>
-- returns: { seq, generation, covered, entry... }
--   covered = 1: the entries are the pair's newest N cdelta entries (seq, timestamp, price,
--   identity), N = that count. The queue keeps every entry from its oldest unstored one on, so
--   N is at least the pair's ticks accepted since then: every unstored tick of the pair is among
--   these (some may be stored already; the caller checks in the database).
--   covered = 0: the queue holds more ticks than cdelta reaches; the caller scans the queue instead.
local seq = redis.call('GET', KEYS[1]) or '0'
local generation = redis.call('GET', KEYS[2]) or '0'
local queued = tonumber(redis.call('GET', KEYS[3]) or '0')
if queued > tonumber(ARGV[1]) then return { seq, generation, 0 } end
local out = { seq, generation, 1 }
if queued > 0 then
  for _, e in ipairs(redis.call('LRANGE', KEYS[4], 0, queued - 1)) do out[#out + 1] = e end
end
return out
