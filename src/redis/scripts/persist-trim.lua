-- persist-trim.lua: drop the persist queue's acknowledged entries, atomically, so no entry that
-- a consumer reads meanwhile can be trimmed away before it is stored.
--
-- KEYS[1]  persist queue (stream)
-- ARGV[1]  consumer group
-- Below the oldest entry still held by any consumer, or past the last delivered entry when none
-- is held, every entry was delivered and acknowledged: XTRIM MINID removes exactly those.
-- returns: the number of entries removed.
local queue, group = KEYS[1], ARGV[1]
local summary = redis.call('XPENDING', queue, group)
local bound = nil
if tonumber(summary[1]) > 0 then
  bound = summary[2]
else
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', queue)) do
    local fields = {}
    for i = 1, #g, 2 do fields[g[i]] = g[i + 1] end
    if fields['name'] == group then
      local ms, seq = string.match(fields['last-delivered-id'], '^(%d+)-(%d+)$')
      if ms then bound = ms .. '-' .. string.format('%d', tonumber(seq) + 1) end
    end
  end
end
if bound == nil then return 0 end
return redis.call('XTRIM', queue, 'MINID', bound)
