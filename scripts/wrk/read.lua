-- wrk -s scripts/wrk/read.lua URL -- MEMBER ROOMS: POST /api/read of MEMBER's marker in its
-- rooms "MEMBER:c<k>", k = 0, 1, ... (modulo ROOMS), the two threads taking turns, each up to the
-- newest message: every room's first marker moves, later ones do not.
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
  k = id
end

function request()
  local room = k % rooms
  k = k + 2
  local body = '{"chat":"' .. member .. ':c' .. room .. '","member":"' .. member ..
    '","read_up_to":9223372036854775807}'
  return wrk.format("POST", "/api/read", { ["Content-Type"] = "application/json" }, body)
end
