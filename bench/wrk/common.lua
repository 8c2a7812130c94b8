-- bench/wrk/common.lua: shared by the wrk scripts (loaded with dofile): data
-- files from BENCH_DATA, random picks, counting non-2xx responses in every
-- thread, and one "BENCH_JSON {...}" summary line from done() for bench/run.
local M = {}
local data_dir = os.getenv("BENCH_DATA") or "var/bench/data"

function M.lines(name)
  local t = {}
  for l in io.lines(data_dir .. "/" .. name) do
    if l ~= "" then t[#t + 1] = l end
  end
  assert(#t > 0, name .. " is empty")
  return t
end

function M.fields(line)
  local t = {}
  for f in line:gmatch("[^\t]+") do t[#t + 1] = f end
  return t
end

function M.pick(t) return t[math.random(#t)] end

function M.urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  threads[#threads + 1] = thread
end

function init(args)
  math.randomseed(tonumber(os.getenv("BENCH_SEED") or "1") * 1000 + thread_id)
  non2xx = 0
  bad_sample = ""
  if M.init then M.init(args) end
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if bad_sample == "" then bad_sample = status .. " " .. (body or ""):sub(1, 300) end
  end
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, requests)
  local non, sample = 0, ""
  for _, t in ipairs(threads) do
    non = non + (t:get("non2xx") or 0)
    local s = t:get("bad_sample")
    if sample == "" and s and s ~= "" then sample = s end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"mean_ms":%.3f,"p50_ms":%.3f,'
      .. '"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"non2xx":%d,"socket_errors":{"connect":%d,'
      .. '"read":%d,"write":%d,"timeout":%d},"bad_sample":%s}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency.mean / 1000, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, non, e.connect, e.read, e.write,
    e.timeout, json_string(sample)))
end

return M
