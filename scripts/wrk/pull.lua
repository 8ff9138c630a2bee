-- wrk -s scripts/wrk/pull.lua: GET /api/pull of the first 10 messages of a random room of 1000
-- (the server reads 11 rows: one more tells whether there are more).
package.path = "scripts/wrk/?.lua;" .. package.path
require "common"

function request()
  local chat, member = room()
  return wrk.format("GET", "/api/pull?chat=" .. chat .. "&cursor=0&limit=10", headers_of(member))
end
