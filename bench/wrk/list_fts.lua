-- bench/wrk/list_fts.lua: GET /api/v1/engagements?q=…&limit=20, full text with a random word or phrase.
local c = dofile((os.getenv("BENCH_WRK") or "bench/wrk") .. "/common.lua")
local terms
function c.init() terms = c.lines("terms.txt") end
function request()
  return wrk.format("GET", "/api/v1/engagements?q=" .. c.urlencode(c.pick(terms)) .. "&limit=20")
end
