-- bench/wrk/near_engagements.lua: GET /api/v1/engagements?near=<place>&within_km=50&sort=distance
-- for a random place where agents are (places.txt): open engagements nearest first.
local c = dofile((os.getenv("BENCH_WRK") or "bench/wrk") .. "/common.lua")
local places
function c.init() places = c.lines("places.txt") end
function request()
  return wrk.format("GET", "/api/v1/engagements?near=" .. c.pick(places)
    .. "&within_km=50&sort=distance&limit=20")
end
