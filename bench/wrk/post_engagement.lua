-- bench/wrk/post_engagement.lua: POST /api/v1/organisations/{slug}/engagements as a member,
-- a new engagement each time (writes). BENCH_POST_AS="token slug" posts as
-- that one member, BENCH_POST_PURPOSE with that purpose (the fan-out runs).
local c = dofile((os.getenv("BENCH_WRK") or "bench/wrk") .. "/common.lua")
local members, purposes, terms
local n = 0
function c.init()
  members = {}
  for _, l in ipairs(c.lines("member_tokens.txt")) do members[#members + 1] = c.fields(l) end
  purposes = c.lines("purposes.txt")
  local as = os.getenv("BENCH_POST_AS")
  if as and as ~= "" then members = { { as:match("^(%S+)%s+(%S+)$") } } end
  local only = os.getenv("BENCH_POST_PURPOSE")
  if only and only ~= "" then purposes = { only } end
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
