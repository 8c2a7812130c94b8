-- bench/wrk/near_agents.lua: GET /api/v1/agents?near=<place>&within_km=50&limit=20 for a
-- random place where agents are (places.txt), newest agents first.
local c = dofile((os.getenv("BENCH_WRK") or "bench/wrk") .. "/common.lua")
local places
function c.init() places = c.lines("places.txt") end
function request()
  return wrk.format("GET", "/api/v1/agents?near=" .. c.pick(places) .. "&within_km=50&limit=20")
end
