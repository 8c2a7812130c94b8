-- bench/wrk/get_engagement.lua: GET /api/v1/engagements/{id}, a random open engagement.
local c = dofile((os.getenv("BENCH_WRK") or "bench/wrk") .. "/common.lua")
local ids
function c.init() ids = c.lines("engagements.txt") end
function request()
  return wrk.format("GET", "/api/v1/engagements/" .. c.pick(ids))
end
