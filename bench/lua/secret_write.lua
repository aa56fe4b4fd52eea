-- wrk: PUT /api/v1/secrets/bench/wNNN (a new version each time, durable and audited) with
-- X-API-Key from BULWARK_KEY, cycling over 1000 paths. Counts non-200 answers.
local key = os.getenv("BULWARK_KEY")
local i = 0
request = function()
  i = i % 1000 + 1
  return wrk.format("PUT", string.format("/api/v1/secrets/bench/w%04d", i - 1),
                    {["X-API-Key"] = key, ["Content-Type"] = "application/json"},
                    '{"data":{"password":"correct horse battery staple","user":"svc"}}')
end
function done(summary, latency, requests)
  io.write(string.format("non-2xx responses: %d\n", summary.errors.status))
end
