-- wrk: GET /api/v1/secrets/bench/sNNN with X-API-Key, cycling over BULWARK_SECRETS paths
-- (default 1000). The key is in the environment variable BULWARK_KEY. Counts non-200 answers.
local key = os.getenv("BULWARK_KEY")
local n = tonumber(os.getenv("BULWARK_SECRETS") or "1000")
local i = 0
request = function()
  i = i % n + 1
  return wrk.format("GET", string.format("/api/v1/secrets/bench/s%04d", i - 1), {["X-API-Key"] = key})
end
function done(summary, latency, requests)
  io.write(string.format("non-2xx responses: %d\n", summary.errors.status))
end
