-- bench/wrk/post_engagement.lua: POST /api/v1/organisations/{slug}/engagements as a member,
-- a new engagement each time (writes).
local c = dofile((os.getenv("BENCH_WRK") or "bench/wrk") .. "/common.lua")
local members, purposes, terms
local n = 0
function c.init()
  members = {}
  for _, l in ipairs(c.lines("member_tokens.txt")) do members[#members + 1] = c.fields(l) end
  purposes = c.lines("purposes.txt")
  terms = c.lines("terms.txt")
end
local packagings = { "employment", "partnership", "consulting", "interim", "volunteer" }
function request()
  local m = c.pick(members)
  n = n + 1
  local body = string.format(
    '{"title":"Bench %d-%d: %s","description":"We %s %s with neighbours, in a bench run.",'
      .. '"purposes":["%s"],"packagings":["%s"],"hours_per_week":%d,"skills":["python","facilitation"],'
      .. '"remote_ok":true,"rewards":{"non_cash":["learning"]}}',
    thread_id, n, c.pick(terms), c.pick(terms), c.pick(terms), c.pick(purposes), c.pick(packagings),
    math.random(2, 40))
  return wrk.format("POST", "/api/v1/organisations/" .. m[2] .. "/engagements",
                    { Authorization = "Bearer " .. m[1], ["Content-Type"] = "application/json" }, body)
end
