-- wrk: PUT /api/v1/secrets/bench/wNNN (a new version each time, durable and audited) with
-- X-API-Key from BULWARK_KEY, cycling over 1000 paths. Counts non-200 answers. Requests are
-- formatted once per wrk thread, in init(), as in secret_read.lua.
local key = os.getenv("BULWARK_KEY")
local reqs = {}
local i = 0
function init(args)
  for k = 1, 1000 do
    reqs[k] = wrk.format("PUT", string.format("/api/v1/secrets/bench/w%04d", k - 1),
                         {["X-API-Key"] = key, ["Content-Type"] = "application/json"},
                         '{"data":{"password":"correct horse battery staple","user":"svc"}}')
  end
end
request = function()
  i = i % 1000 + 1
  return reqs[i]
end
function done(summary, latency, requests)
  io.write(string.format("non-2xx responses: %d\n", summary.errors.status))
end
