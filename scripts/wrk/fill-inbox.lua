-- wrk -s scripts/wrk/fill-inbox.lua URL -- MEMBER ROOMS FIRST: POST /api/send into MEMBER's
-- rooms "MEMBER:c<k>", k = FIRST, FIRST + 1, ... (modulo ROOMS), the two threads taking turns,
-- so that enough sends give MEMBER ROOMS chats.
package.path = "scripts/wrk/?.lua;" .. package.path
require "common"

local threads = 0
local member, rooms, k = "nobody", 1, 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  member, rooms = args[1], tonumber(args[2])
  k = tonumber(args[3]) + id
end

function request()
  -- Threads take turns: thread i sends to rooms i, i + 2, ... (wrk -t2).
  local room = k % rooms
  k = k + 2
  local body = '{"chat":"' .. member .. ':c' .. room .. '","sender":"' .. member ..
    '","text":"fill ' .. room .. '"}'
  return wrk.format("POST", "/api/send", { ["Content-Type"] = "application/json" }, body)
end
