-- Requests that use up one pre-minted value each (authorization codes,
-- refresh tokens): PERF_FILE has one value a line, PERF_BODY is the form body
-- with "%s" where the (URL-encoded) value goes. Every answer must be 200 with
-- an access token. Each value is sent exactly once; when a thread runs out it
-- stops, so the measurement may end before DURATION: then the PERF line's
-- duration_s is the time from the first request to running out, and rps is
-- computed over that.
package.path = os.getenv("PERF_LUA") .. "/?.lua;" .. package.path
local c = require "common"
c.counters = { "exhausted" }

local values, i, step, before, after
local nthreads = tonumber(os.getenv("PERF_THREADS") or "1")

function init(args)
  values = c.lines(os.getenv("PERF_FILE"))
  -- Split at "%s" by hand: the body holds URL escapes such as %3A that
  -- string.format would take for directives.
  local body = os.getenv("PERF_BODY")
  local at = string.find(body, "%s", 1, true)
  before, after = string.sub(body, 1, at - 1), string.sub(body, at + 2)
  i = (tid or 0) + 1        -- thread k takes values k+1, k+1+n, ...
  step = nthreads
end

local headers = {
  ["Authorization"] = c.auth,
  ["Content-Type"] = "application/x-www-form-urlencoded",
}

function request()
  if t_first == nil then t_first = c.now() end
  local v = values[i]
  if v == nil then
    if t_stop == nil then t_stop = c.now() end
    -- Out of values: stop this thread rather than reuse one (a reuse would
    -- be refused, and for refresh tokens would revoke the family).
    c.count("exhausted")
    wrk.thread:stop()
    v = values[#values]
  end
  i = i + step
  return wrk.format("POST", nil, headers, before .. c.urlencode(v) .. after)
end

setup = c.setup
done = c.done
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"access_token"', 1, true) then
    c.unexpected(status, body)
  end
end
