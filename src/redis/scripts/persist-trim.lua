-- persist-trim.lua: drop the persist queue's acknowledged entries, atomically, so no entry that
-- a consumer reads meanwhile can be trimmed away before it is stored.
--
-- KEYS[1]  persist queue (stream)
-- KEYS[2]  count of ticks in the queue's entries (field n of each entry)
-- ARGV[1]  consumer group
-- ARGV[2]  most entries removed per call: each is read here whole (its ticks' JSON), so a big
--          trim is many short calls instead of one that holds Redis (and every live tick) up
-- Below the oldest entry still held by any consumer, or past the last delivered entry when none
-- is held, every entry was delivered and acknowledged: those are removed, at most ARGV[2] a call
-- (the rest go with the next call), and their ticks taken off the count.
-- returns: the number of entries removed.
local queue, counter, group = KEYS[1], KEYS[2], ARGV[1]
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
local entries = redis.call('XRANGE', queue, '-', '(' .. bound, 'COUNT', tonumber(ARGV[2]))
if #entries == 0 then return 0 end
local ticks = 0
for _, e in ipairs(entries) do
  local f = e[2]
  for i = 1, #f, 2 do
    if f[i] == 'n' then ticks = ticks + tonumber(f[i + 1]) end
  end
end
local ms, seq = string.match(entries[#entries][1], '^(%d+)-(%d+)$')
redis.call('XTRIM', queue, 'MINID', ms .. '-' .. string.format('%d', tonumber(seq) + 1))
if ticks > 0 then
  -- Never below zero: entries written by hand (tests, tools) carry no count.
  local left = redis.call('DECRBY', counter, ticks)
  if left < 0 then redis.call('SET', counter, 0) end
end
return #entries
