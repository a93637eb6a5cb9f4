-- candle-view.lua: a pair's cached candles of one timeframe, only when current.
-- (candle-lib.lua is prepended at load time.)
--
-- KEYS[1] historical:<SYM>:<TF>   KEYS[2] ctail:<SYM>   KEYS[3] seq:<SYM>
-- returns: the view (JSON), or false when there is none or it is stale (see candle-lib.lua).
local q = redis.call('HGET', KEYS[2], 'q')
if not cache_current(q, tonumber(redis.call('GET', KEYS[3]) or '0')) then return false end
return redis.call('GET', KEYS[1])
