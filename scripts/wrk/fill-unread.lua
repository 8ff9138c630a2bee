-- wrk -s scripts/wrk/fill-unread.lua URL -- MEMBER ROOMS: POST /api/send from the other member
-- into MEMBER's rooms "MEMBER:p<k>", k = 0 .. ROOMS - 1 in turn, so that each of them has
-- messages MEMBER has not read.
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
  local peer = "p" .. (k % rooms)
  k = k + 2
  local body = '{"chat":"' .. member .. ':' .. peer .. '","sender":"' .. peer ..
    '","text":"unread ' .. k .. '"}'
  return wrk.format("POST", "/api/send", { ["Content-Type"] = "application/json" }, body)
end
