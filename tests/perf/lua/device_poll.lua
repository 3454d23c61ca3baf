-- Device-code polling: rotates through the pending device codes listed in
-- PERF_FILE (1,000 of them). Nobody approves them, so the expected answers
-- are 400 authorization_pending or 400 slow_down (counted separately);
-- anything else is unexpected.
package.path = os.getenv("PERF_LUA") .. "/?.lua;" .. package.path
local c = require "common"
c.counters = { "pending", "slow_down" }

local codes, i, prefix

function init(args)
  codes = c.lines(os.getenv("PERF_FILE"))
  i = tid or 0            -- threads start at different codes
  prefix = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code="
end

local headers = {
  ["Authorization"] = c.auth,
  ["Content-Type"] = "application/x-www-form-urlencoded",
}

function request()
  i = i % #codes + 1
  return wrk.format("POST", nil, headers, prefix .. c.urlencode(codes[i]))
end

setup = c.setup
done = c.done
function response(status, headers, body)
  if status == 400 and string.find(body, '"authorization_pending"', 1, true) then
    c.count("pending")
  elseif status == 400 and string.find(body, '"slow_down"', 1, true) then
    c.count("slow_down")
  else
    c.unexpected(status, body)
  end
end
