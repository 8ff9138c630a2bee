-- Shared by the wrk scripts: 1000 rooms "wa<i>:wb<i>", picked at random per request, and a
-- done() that prints the run's summary as one JSON line for scripts/bench-report. With
-- IM_BENCH_TOKENS naming a file of "member token" lines (im-load tokens), each request carries
-- its member's bearer token (access mode jwt).
local rooms = 1000

function room()
  local i = math.random(0, rooms - 1)
  return "wa" .. i .. ":wb" .. i, "wa" .. i
end

local tokens = {}
local tokens_file = os.getenv("IM_BENCH_TOKENS")
if tokens_file and tokens_file ~= "" then
  for line in io.lines(tokens_file) do
    local member, token = line:match("^(%S+) (%S+)$")
    tokens[member] = "Bearer " .. token
  end
end

-- Request headers for a request made as `member`, with `extra` ones.
function headers_of(member, extra)
  local headers = extra or {}
  headers["Authorization"] = tokens[member]
  return headers
end

function setup(thread)
  thread:set("seed", math.random(1, 2 ^ 30))
end

function init(args)
  math.randomseed(seed)
end

-- Percentiles of the latency curve, as in an HDR histogram plot.
local curve = { 50, 75, 90, 95, 97.5, 99, 99.5, 99.75, 99.9, 99.95, 99.99 }

function done(summary, latency, requests)
  local errors = summary.errors
  local points = {}
  for i, p in ipairs(curve) do
    points[i] = string.format("[%s, %d]", p, latency:percentile(p))
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d}, "latency_us": {"p50": %d, "p90": %d, "p99": %d, ' ..
    '"p999": %d, "max": %d, "mean": %.1f}, "curve_us": [%s]}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean,
    table.concat(points, ", ")))
end
