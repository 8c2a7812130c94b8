-- bench/wrk/list_fts_uncached.lua: GET /api/v1/engagements?q=…&limit=20 that nobody asked before:
-- a term of terms.txt with a unique word excluded ("-zq<n>", which no engagement has), so
-- the answer cache never holds it and every request is planned and run by PostgreSQL.
local c = dofile((os.getenv("BENCH_WRK") or "bench/wrk") .. "/common.lua")
local terms
local n = 0
function c.init() terms = c.lines("terms.txt") end
function request()
  n = n + 1
  local q = c.pick(terms) .. " -zq" .. tostring(math.random(1, 1000000000)) .. "x" .. tostring(n)
  return wrk.format("GET", "/api/v1/engagements?q=" .. c.urlencode(q) .. "&limit=20")
end
