-- wrk -s scripts/wrk/chats.lua URL -- MEMBER: GET /api/chats of MEMBER's 20 most recent rooms
-- (the first page of a conversation list).
package.path = "scripts/wrk/?.lua;" .. package.path
require "common"

local member = "nobody"
local seeded = init

function init(args)
  seeded(args)
  member = args[1] or member
end

function request()
  return wrk.format("GET", "/api/chats?member=" .. member .. "&reverse=true&limit=20")
end
