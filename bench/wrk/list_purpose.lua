-- bench/wrk/list_purpose.lua: GET /api/v1/engagements?purpose=…&limit=20, a random purpose.
local c = dofile((os.getenv("BENCH_WRK") or "bench/wrk") .. "/common.lua")
local slugs
function c.init() slugs = c.lines("purposes.txt") end
function request()
  return wrk.format("GET", "/api/v1/engagements?purpose=" .. c.pick(slugs) .. "&limit=20")
end
