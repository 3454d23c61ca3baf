-- client_credentials token for the benchmark resource: an ES256 JWT access
-- token each time. PERF_RESOURCE is the resource indicator (RFC 8707).
package.path = os.getenv("PERF_LUA") .. "/?.lua;" .. package.path
local c = require "common"

wrk.method = "POST"
wrk.headers["Authorization"] = c.auth
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials&resource=" .. c.urlencode(os.getenv("PERF_RESOURCE"))
c.expect(200, '"access_token"')
