-- wrk script for bench/bench_sampling.py: every request sends the next pre-generated scan
-- (a distinct signed registration code and client scan id), each wrk thread its own share.
-- Environment: SCAN_BODIES (a file, one JSON body a line), SCAN_TOKEN (the sampler's token).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("number", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  local index = 0
  for line in io.lines(os.getenv("SCAN_BODIES")) do
    if index % tonumber(os.getenv("SCAN_THREADS") or "1") == number then
      table.insert(bodies, line)
    end
    index = index + 1
  end
  position = 0
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("SCAN_TOKEN"),
  }
end

function request()
  position = position % #bodies + 1
  return wrk.format("POST", os.getenv("SCAN_PATH") or "/api/v1/sampling/intake", headers, bodies[position])
end

function done(summary, latency, requests)
  io.write(string.format(
    "WRK requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
