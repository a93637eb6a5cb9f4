-- publish.lua: publish the ticks of a write that WAIT confirmed, in one call (one per slot on a
-- cluster) rather than one command per tick.
--
-- KEYS[1]  a key of the slot every channel below hashes to (routes the call on a cluster; not read)
-- ARGV[1]  PUBLISH, or SPUBLISH (sharded channels, on a cluster)
-- then per channel: the channel, n, and n messages, in the order subscribers get them
-- returns: the number of messages published
local cmd = ARGV[1]
local i, sent = 2, 0
while i <= #ARGV do
  local channel, n = ARGV[i], tonumber(ARGV[i + 1])
  for k = 1, n do redis.call(cmd, channel, ARGV[i + 1 + k]) end
  sent = sent + n
  i = i + 2 + n
end
return sent
