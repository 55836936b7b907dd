-- wrk script: POST the body in $BODY_FILE and time every request from the client's side.
--
-- wrk's own latency percentiles are corrected for coordinated omission (a stall becomes many
-- synthetic samples), so they cannot be compared with what a client observes. Run with as
-- many threads as connections (-t N -c N): each thread then has one connection, its requests
-- follow one another, and the time from request() to response() is that request's latency.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } timed_timespec;
int clock_gettime(int clock_id, timed_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local now = ffi.new("timed_timespec")

local function microseconds()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now)
  return tonumber(now.tv_sec) * 1e6 + tonumber(now.tv_nsec) / 1e3
end

wrk.method = "POST"
-- $BODY_HEADERS, when set, holds the request's headers, one "Name: value" a line (none if
-- empty), in place of the default Content-Type: application/json. The body is sent byte for
-- byte as the file holds it (binary bodies too).
local body_headers = os.getenv("BODY_HEADERS")
if body_headers == nil then
  wrk.headers["Content-Type"] = "application/json"
else
  for name, value in body_headers:gmatch("([^:\n]+):%s*([^\n]*)") do
    wrk.headers[name] = value
  end
end
local body_file = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.body = body_file:read("*a")
body_file:close()

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

-- Per thread (each has its own Lua state).
local started = 0
latencies = {}
failures = 0

function request()
  started = microseconds()
  return wrk.format()
end

function response(status, headers, body)
  latencies[#latencies + 1] = microseconds() - started
  if status ~= 200 then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local all, failed = {}, 0
  for _, thread in ipairs(threads) do
    for _, value in ipairs(thread:get("latencies")) do
      all[#all + 1] = value
    end
    failed = failed + thread:get("failures")
  end
  table.sort(all)
  local function percentile(share)
    if #all == 0 then return 0 end
    return all[math.max(1, math.ceil(#all * share))] / 1000
  end
  io.write(string.format(
    "TIMED requests=%d failed=%d errors=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    #all, failed, summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, percentile(0.5), percentile(0.99), percentile(1.0)))
end
