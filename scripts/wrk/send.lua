-- wrk -s scripts/wrk/send.lua: POST /api/send to a random room of 1000, 20-byte texts.
package.path = "scripts/wrk/?.lua;" .. package.path
require "common"

local n = 0

function request()
  n = n + 1
  local chat, sender = room()
  local body = '{"chat":"' .. chat .. '","sender":"' .. sender .. '","text":"wrk message ' ..
    string.format("%08d", n % 100000000) .. '"}'
  return wrk.format("POST", "/api/send", headers_of(sender, { ["Content-Type"] = "application/json" }), body)
end
