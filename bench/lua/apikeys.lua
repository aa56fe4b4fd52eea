-- wrk: GET /api/v1/whoami with X-API-Key, each request taking the next of the keys listed (one
-- per line) in the file named by the environment variable BULWARK_KEYS.
local keys = {}
for line in io.lines(os.getenv("BULWARK_KEYS")) do keys[#keys + 1] = line end
local i = 0
request = function()
  i = i % #keys + 1
  return wrk.format("GET", "/api/v1/whoami", {["X-API-Key"] = keys[i]})
end
