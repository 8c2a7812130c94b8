-- bench/wrk/postgrest_get.lua: the reference for GET by id: PostgREST reading the same
-- engagement_json(e) for a random open engagement, as a single object.
local c = dofile((os.getenv("BENCH_WRK") or "bench/wrk") .. "/common.lua")
local ids
function c.init() ids = c.lines("engagements.txt") end
function request()
  return wrk.format("GET", "/engagements?id=eq." .. c.pick(ids) .. "&select=engagement",
                    { Accept = "application/vnd.pgrst.object+json" })
end
