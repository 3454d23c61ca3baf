-- Password sign-in storm: POST sign-in/email with the right password (an
-- Argon2id verification each time). Origin is required for this
-- cookie-setting API (PERF_ORIGIN, the issuer).
package.path = os.getenv("PERF_LUA") .. "/?.lua;" .. package.path
local c = require "common"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Origin"] = os.getenv("PERF_ORIGIN")
wrk.body = string.format('{"email":"%s","password":"%s"}',
  os.getenv("PERF_EMAIL"), os.getenv("PERF_PASSWORD"))
c.expect(200)
