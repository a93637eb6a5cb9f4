-- pair-register.lua: one instrument per symbol. The first spelling seen of a symbol becomes its
-- canonical pair (HSETNX); never more than MAX_PAIRS symbols are registered. Atomic, so two
-- processes registering two spellings at once agree on one.
--
-- KEYS[1]   instruments hash: SYM -> canonical pair
-- ARGV[1]   MAX_PAIRS
-- ARGV[2]   'all': register every new symbol or none of them (a request that is taken whole or
--           not at all); 'some': as many as fit, in argument order (a feed)
-- ARGV[3..] SYM, pair, SYM, pair, ... (each SYM once)
-- returns: one string per SYM in argument order: its canonical pair, or '' when the symbol is new
--          and was not registered (it would pass MAX_PAIRS)
local reg = KEYS[1]
local max = tonumber(ARGV[1])
local all = ARGV[2] == 'all'
local out = {}
local new = 0
for i = 3, #ARGV, 2 do
  local known = redis.call('HGET', reg, ARGV[i])
  if known then
    out[#out + 1] = known
  else
    out[#out + 1] = ''
    new = new + 1
  end
end
if new == 0 then return out end
local count = redis.call('HLEN', reg)
if all and count + new > max then return out end
for i = 3, #ARGV, 2 do
  local k = (i - 1) / 2
  if out[k] == '' and count < max then
    redis.call('HSETNX', reg, ARGV[i], ARGV[i + 1])
    out[k] = ARGV[i + 1]
    count = count + 1
  end
end
return out
