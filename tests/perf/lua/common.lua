-- Shared by every scenario script (loaded with require "common").
--
-- wrk runs one Lua state per thread plus one for setup()/done(); counters are
-- plain number globals of each thread's state, summed in done() through
-- thread:get() (which can copy numbers and strings, not tables). Every
-- scenario prints one line starting with "PERF " that run.sh parses:
--   PERF requests=N duration_s=S rps=R p50_ms=A p99_ms=B socket_errors=E
--        unexpected=U [name=N for each counter in M.counters]
-- "unexpected" counts answers whose status (or body) the scenario does not
-- expect; socket errors are wrk's connect/read/write/timeout counts.

local M = {}

M.auth = os.getenv("PERF_BASIC")          -- "Basic base64(id:secret)", from run.sh
M.counters = {}                           -- extra counter names a scenario reports

function M.urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- One value a line (tokens, codes, device codes).
function M.lines(path)
  local t = {}
  for l in io.lines(path) do
    if #l > 0 then t[#t + 1] = l end
  end
  return t
end

-- A monotonic clock (LuaJIT's ffi; plain Lua only has whole seconds).
local ffi = require "ffi"
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } perf_timespec;
  int clock_gettime(int clk_id, perf_timespec *tp);
]]
local ts = ffi.new("perf_timespec")
function M.now()
  ffi.C.clock_gettime(1, ts)    -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

unexpected = 0
-- A thread that stops early (out of single-use values) sets both; wrk itself
-- always reports the full -d duration, so done() uses these instead.
t_first = nil
t_stop = nil
sample = nil                  -- first unexpected answer, printed for the log

function M.count(name)
  local g = "c_" .. name
  _G[g] = (_G[g] or 0) + 1
end

function M.unexpected(status, body)
  unexpected = unexpected + 1
  if sample == nil then
    sample = tostring(status) .. " " .. string.sub(body or "", 1, 300)
  end
end

-- setup() and done() run in the main state.
local threads = {}
function M.setup(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end

function M.done(summary, latency, requests)
  local un, samples, extra = 0, {}, {}
  for _, t in ipairs(threads) do
    un = un + (t:get("unexpected") or 0)
    local s = t:get("sample")
    if s then samples[#samples + 1] = s end
    for _, name in ipairs(M.counters) do
      extra[name] = (extra[name] or 0) + (t:get("c_" .. name) or 0)
    end
  end
  local e = summary.errors
  -- Without a response() callback wrk's own count of statuses >= 400 is the
  -- only check (see M.expect_ok).
  if M.status_only then un = un + e.status end
  local secs = summary.duration / 1e6
  local first, stop
  for _, t in ipairs(threads) do
    local f, s = t:get("t_first"), t:get("t_stop")
    if f and (first == nil or f < first) then first = f end
    if s and (stop == nil or s > stop) then stop = s end
  end
  if first and stop and stop - first < secs then secs = stop - first end
  local line = string.format(
    "PERF requests=%d duration_s=%.2f rps=%.1f p50_ms=%.3f p99_ms=%.3f socket_errors=%d unexpected=%d",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout, un)
  for _, name in ipairs(M.counters) do
    line = line .. " " .. name .. "=" .. extra[name]
  end
  io.write(line .. "\n")
  for _, s in ipairs(samples) do
    io.write("PERF_SAMPLE " .. (s:gsub("[\r\n]", " ")) .. "\n")
  end
end

-- Installs the wrk callbacks for a scenario whose every answer must have
-- status `want` (and, if given, contain `needle` in the body).
function M.expect(want, needle)
  setup = M.setup
  done = M.done
  response = function(status, headers, body)
    if status ~= want or (needle and not string.find(body, needle, 1, true)) then
      M.unexpected(status, body)
    end
  end
end

-- For documents checked by status alone (JWKS, discovery; run.sh checks
-- their bodies once beforehand): no response() callback, so wrk need not
-- hand each answer to Lua. At about 120,000 answers/s that hand-off, not the
-- server, was the limit of the measurement. Any status >= 400 is unexpected.
function M.expect_ok()
  setup = M.setup
  done = M.done
  M.status_only = true
end

return M
