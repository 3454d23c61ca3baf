-- GET of the URL given to wrk (JWKS, discovery): every answer must succeed.
package.path = os.getenv("PERF_LUA") .. "/?.lua;" .. package.path
local c = require "common"

wrk.method = "GET"
c.expect_ok()
