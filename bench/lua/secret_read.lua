-- wrk: GET /api/v1/secrets/bench/sNNN with X-API-Key, cycling over BULWARK_SECRETS paths
-- (default 1000). The key is in the environment variable BULWARK_KEY. Counts non-200 answers.
-- Each wrk thread formats its requests once, in init(): formatting one per request costs the
-- load generator about 1.5 us, CPU the server would otherwise have on the two shared cores
-- (the nginx baseline runs wrk with no script at all).
local key = os.getenv("BULWARK_KEY")
local n = tonumber(os.getenv("BULWARK_SECRETS") or "1000")
local reqs = {}
local i = 0
function init(args)
  for k = 1, n do
    reqs[k] = wrk.format("GET", string.format("/api/v1/secrets/bench/s%04d", k - 1), {["X-API-Key"] = key})
  end
end
request = function()
  i = i % n + 1
  return reqs[i]
end
function done(summary, latency, requests)
  io.write(string.format("non-2xx responses: %d\n", summary.errors.status))
end
