-- candle-states.lua: the current states of some buckets of one cached pair/timeframe, the
-- forming one included. (candle-lib.lua is prepended at load time.)
--
-- KEYS[1] cstate:<SYM>:<TF>   KEYS[2] historical:<SYM>:<TF>   KEYS[3] ctail:<SYM>   KEYS[4] seq:<SYM>
-- ARGV[1] the timeframe's index in TIMEFRAMES (1-based)   ARGV[2..] bucket opens in epoch s
-- returns: per bucket asked, its state (as in cstate) or false when that bucket has no candle;
-- all false when the cache does not exist or is stale.
local out = {}
for i = 2, #ARGV do out[i - 1] = false end
local tail = tail_load(KEYS[3])
if not tail or redis.call('EXISTS', KEYS[2]) == 0 then return out end
local seq = tonumber(redis.call('GET', KEYS[4]) or '0')
if not cache_current(tail.q, seq) then return out end -- stale (see candle-lib.lua): as none
local r
for _, x in ipairs(tail.tfs) do
  if x.f == tonumber(ARGV[1]) then r = x end
end
if not r then return out end
local forming = ''
if r.T >= 0 then forming = fmt_int(r.T / 1000) end
local fields, at = {}, {}
for i = 2, #ARGV do
  if ARGV[i] == forming then
    out[i - 1] = encode({ o = r.o, h = r.h, l = r.l, c = tail.c, v = seq - r.b, oa = r.oa, ok = r.ok, ca = tail.ca, ck = tail.ck })
  else
    fields[#fields + 1], at[#at + 1] = ARGV[i], i - 1
  end
end
if #fields > 0 then
  local states = redis.call('HMGET', KEYS[1], unpack(fields))
  for j = 1, #fields do out[at[j]] = states[j] end
end
return out
