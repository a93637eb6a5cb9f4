-- candle-drop.lua: drop some candle caches of a pair after its history was rewritten (an
-- import), and void every fill that read the database before. (candle-lib.lua is prepended.)
--
-- KEYS[1] cgen:<SYM>   KEYS[2] ctail:<SYM>   then per timeframe: cstate:<SYM>:<TF>, historical:<SYM>:<TF>
-- ARGV: the timeframes' indices in TIMEFRAMES (1-based), in the order of their keys
-- returns: how many cstate and historical keys were deleted.
redis.call('INCR', KEYS[1])
local drop = {}
local keys = {}
for i = 1, #ARGV do
  drop[tonumber(ARGV[i])] = true
  keys[#keys + 1] = KEYS[1 + 2 * i]
  keys[#keys + 1] = KEYS[2 + 2 * i]
end
local deleted = 0
if #keys > 0 then deleted = redis.call('DEL', unpack(keys)) end
-- The deletions go to the append-only file (an import's invalidation must survive a restart);
-- the rewritten tail does not (see candle-lib.lua): there it would vouch, after a restart, for
-- views restored from an older rewrite.
cache_writes()
local tail = tail_load(KEYS[2])
if tail then
  local kept = {}
  for _, r in ipairs(tail.tfs) do
    if not drop[r.f] then kept[#kept + 1] = r end
  end
  tail.tfs = kept
  tail_store(KEYS[2], tail)
end
return deleted
