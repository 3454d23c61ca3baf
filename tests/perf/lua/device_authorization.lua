-- RFC 8628 device authorization request: each one creates a pending device
-- code (a row in Portcullis' database, an entry in the peer's memory).
package.path = os.getenv("PERF_LUA") .. "/?.lua;" .. package.path
local c = require "common"

wrk.method = "POST"
wrk.headers["Authorization"] = c.auth
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "scope=openid"
c.expect(200, '"device_code"')
