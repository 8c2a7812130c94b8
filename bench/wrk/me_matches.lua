-- bench/wrk/me_matches.lua: GET /api/v1/me/matches?limit=20 as a random agent (rotating bearer tokens).
local c = dofile((os.getenv("BENCH_WRK") or "bench/wrk") .. "/common.lua")
local tokens
function c.init() tokens = c.lines("agent_tokens.txt") end
function request()
  return wrk.format("GET", "/api/v1/me/matches?limit=20", { Authorization = "Bearer " .. c.pick(tokens) })
end
