-- wrk -s scripts/wrk/ping.lua: GET /ping, the http-server alone (no RPC): its floor per request.
package.path = "scripts/wrk/?.lua;" .. package.path
require "common"

function request()
  return wrk.format("GET", "/ping")
end
