-- count-down.lua: take ARGV[1] off the counter KEYS[1], never below zero (an entry moved twice
-- from an outbox, after a crash in the move, is stored once but counted down twice).
local left = redis.call('DECRBY', KEYS[1], tonumber(ARGV[1]))
if left < 0 then redis.call('SET', KEYS[1], 0) end
return left
