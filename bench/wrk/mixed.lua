-- bench/wrk/mixed.lua: the soak load — mostly reads (get by id, lists by
-- purpose, full text, my matches) with one write in ten (a new engagement).
local c = dofile((os.getenv("BENCH_WRK") or "bench/wrk") .. "/common.lua")
local ids, slugs, terms, members, agents
local n = 0
function c.init()
  ids = c.lines("engagements.txt")
  slugs = c.lines("purposes.txt")
  terms = c.lines("terms.txt")
  members = {}
  for _, l in ipairs(c.lines("member_tokens.txt")) do members[#members + 1] = c.fields(l) end
  agents = {}
  for _, l in ipairs(c.lines("agent_tokens.txt")) do agents[#agents + 1] = c.fields(l)[1] end
end
function request()
  local r = math.random(100)
  if r <= 45 then
    return wrk.format("GET", "/api/v1/engagements/" .. c.pick(ids))
  elseif r <= 65 then
    return wrk.format("GET", "/api/v1/engagements?purpose=" .. c.pick(slugs) .. "&limit=20")
  elseif r <= 75 then
    return wrk.format("GET", "/api/v1/engagements?q=" .. c.urlencode(c.pick(terms)) .. "&limit=20")
  elseif r <= 90 then
    return wrk.format("GET", "/api/v1/me/matches?limit=20", { Authorization = "Bearer " .. c.pick(agents) })
  end
  local m = c.pick(members)
  n = n + 1
  local body = string.format(
    '{"title":"Soak %d-%d: %s","description":"We %s with neighbours, in a soak run.",'
      .. '"purposes":["%s"],"packagings":["volunteer"],"hours_per_week":%d,"skills":[],'
      .. '"remote_ok":true,"rewards":{"non_cash":["learning"]}}',
    thread_id, n, c.pick(terms), c.pick(terms), c.pick(slugs), math.random(2, 40))
  return wrk.format("POST", "/api/v1/organisations/" .. m[2] .. "/engagements",
                    { Authorization = "Bearer " .. m[1], ["Content-Type"] = "application/json" }, body)
end
