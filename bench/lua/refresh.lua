-- wrk: refresh-token exchanges. Each wrk thread owns one session (run with -t N -c N so a thread
-- has exactly one connection) and follows its rotation: every response carries the refresh
-- token for the next request. Tokens come from the file named by BULWARK_REFRESH (one per line).
local tokens = {}
for line in io.lines(os.getenv("BULWARK_REFRESH")) do tokens[#tokens + 1] = line end
local next_thread = 0
function setup(thread)
  next_thread = next_thread + 1
  thread:set("token", tokens[next_thread])
end
failures = 0
request = function()
  return wrk.format("POST", "/api/v1/auth/refresh", {["Content-Type"] = "application/json"},
                    '{"refresh_token":"' .. token .. '"}')
end
response = function(status, headers, body)
  local t = body:match('"refresh_token":"(bwr_[%w_-]+)"')
  if status == 200 and t then token = t else failures = failures + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("non-200 responses: %d\n", summary.errors.status))
end
