-- Shared by every scenario script. bench/run.py prepends a preamble that defines KEY, NTHREADS and
-- the scenario's constants, then this file, then the scenario file, into one script for `wrk -s`.
-- Each wrk thread has its own Lua state: `codes` and the journey state below are per thread, and
-- `done` merges the threads' counters through thread:get.

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

codes = {}
HEADERS = { ["Content-Type"] = "application/json", ["Authorization"] = "Api-Key " .. KEY }

-- Count one response as "200" or "409 Reservations.Quantity_conflict" (problem+json `code`).
function count(status, body)
  local key = tostring(status)
  if status >= 400 and body then
    local code = body:match('"code":"([%w%._]+)"')
    if code then key = key .. " " .. code end
  end
  codes[key] = (codes[key] or 0) + 1
end

-- A strictly increasing ISO 8601 timestamp per thread (whole seconds from the clock, a sequence
-- number as microseconds), so no update is ever taken for a replay or a stale request.
local seq = 0
function iso_now()
  seq = (seq + 1) % 1000000
  return os.date("!%Y-%m-%dT%H:%M:%S", os.time()) .. string.format(".%06d+00:00", seq)
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("codes")) do merged[k] = (merged[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, string.format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"codes":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout, table.concat(parts, ",")))
end
