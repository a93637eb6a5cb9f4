-- candle-check.lua: drop a pair's candle caches when they are stale, as after Redis restarted
-- from its append-only file (see candle-lib.lua). (candle-lib.lua is prepended at load time.)
--
-- KEYS[1] ctail:<SYM>   KEYS[2] seq:<SYM>   then per timeframe (all of them): cstate:<SYM>:<TF>,
-- historical:<SYM>:<TF>
-- returns: how many keys were deleted (0 when the caches are current or there are none).
local q = redis.call('HMGET', KEYS[1], 'f', 'q')
if not q[1] or cache_current(q[2], tonumber(redis.call('GET', KEYS[2]) or '0')) then return 0 end
local gone = {}
for i = 1, #KEYS do
  if i ~= 2 then gone[#gone + 1] = KEYS[i] end
end
return redis.call('DEL', unpack(gone))
