-- bench/wrk/engagement_matches.lua: GET /api/v1/engagements/{id}/matches?limit=20 as a member
-- (owner) of the engagement's organisation, over many organisations.
local c = dofile((os.getenv("BENCH_WRK") or "bench/wrk") .. "/common.lua")
local members
function c.init()
  members = {}
  for _, l in ipairs(c.lines("member_tokens.txt")) do
    local f = c.fields(l)
    if f[3] then members[#members + 1] = f end
  end
end
function request()
  local m = c.pick(members)
  return wrk.format("GET", "/api/v1/engagements/" .. m[3] .. "/matches?limit=20",
                    { Authorization = "Bearer " .. m[1] })
end
