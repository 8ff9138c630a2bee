-- wrk -s scripts/wrk/refused-pull.lua: a pull whose chat the rpc-server refuses (400): the HTTP
-- and Thrift hops without the database, the floor of both servers per request.
package.path = "scripts/wrk/?.lua;" .. package.path
require "common"

function request()
  return wrk.format("GET", "/api/pull?chat=no-colon")
end
