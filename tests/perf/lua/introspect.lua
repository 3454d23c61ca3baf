-- RFC 7662 introspection of one valid access token (PERF_TOKEN); an answer
-- that is not 200 with "active":true counts as unexpected.
package.path = os.getenv("PERF_LUA") .. "/?.lua;" .. package.path
local c = require "common"

wrk.method = "POST"
wrk.headers["Authorization"] = c.auth
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "token=" .. c.urlencode(os.getenv("PERF_TOKEN"))
c.expect(200, '"active":true')
