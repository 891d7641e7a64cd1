-- Plumbing shared by every wrk scenario in this folder.
--
-- A scenario file builds a table { service = ..., init = fn(cfg), request = fn(n), check = fn(status, body),
-- delay = fn() } and hands it to common.run(), which installs wrk's global callbacks:
--   setup(thread)  main Lua state, once per wrk thread: numbers the threads (thread_id 1..t)
--   init(args)     each thread's own state: parses "key=value" script arguments into cfg, and sets
--                  writer = "<run>.<thread_id>", unique across the wrk runs of one scenario (argument run=N)
--   request()      each thread: n counts this thread's requests from 1; returns the raw HTTP request
--   response()     each thread: counts 2xx / non-2xx and the scenario's own content check
--   delay()        only when the scenario has one (wrk decides at load time): ms to wait before the next request
--   done()         main state: sums the per-thread counters and prints one line
--                    BENCH_RESULT {json}
--                  that bench/run parses (latency percentiles are in microseconds).
-- Requests carry a well-formed but fake SigV4 Authorization header: the emulators do not verify signatures.

local M = {}

local FAKE_SIGNATURE = string.rep("0123456789abcdef", 4)

-- "key=value" strings (wrk passes whatever follows "--" on its command line) -> table
local function parse_args(args)
  local cfg = {}
  for _, arg in ipairs(args or {}) do
    local key, value = arg:match("^([^=]+)=(.*)$")
    if key then
      cfg[key] = value
    end
  end
  return cfg
end

-- Headers every signed AWS request carries. service is the SigV4 scope ("dynamodb", "sqs", "s3", ...).
function M.signed_headers(service, access_key)
  local stamp = os.date("!%Y%m%dT%H%M%SZ")
  local day = stamp:sub(1, 8)
  return {
    ["Host"] = wrk.host .. ":" .. wrk.port,
    ["X-Amz-Date"] = stamp,
    ["Authorization"] = "AWS4-HMAC-SHA256 Credential=" .. access_key .. "/" .. day .. "/us-east-1/" .. service ..
        "/aws4_request, SignedHeaders=host;x-amz-date, Signature=" .. FAKE_SIGNATURE,
  }
end

-- A copy of base with extra headers added (base itself is left alone).
function M.with_headers(base, extra)
  local out = {}
  for k, v in pairs(base) do
    out[k] = v
  end
  for k, v in pairs(extra) do
    out[k] = v
  end
  return out
end

-- Headers of the AWS JSON protocols: version "1.0" (DynamoDB, SQS) or "1.1" (Kinesis).
function M.json_headers(service, access_key, target, version)
  return M.with_headers(M.signed_headers(service, access_key), {
    ["X-Amz-Target"] = target,
    ["Content-Type"] = "application/x-amz-json-" .. version,
  })
end

-- application/x-www-form-urlencoded value encoding.
function M.form_encode(value)
  return (tostring(value):gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function M.base64(data)
  local out = {}
  for i = 1, #data, 3 do
    local a, b, c = data:byte(i, i + 2)
    local triple = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = 2 + (b and 1 or 0) + (c and 1 or 0)
    for j = 1, 4 do
      if j <= chars then
        local index = math.floor(triple / 2 ^ (6 * (4 - j))) % 64
        out[#out + 1] = B64:sub(index + 1, index + 1)
      else
        out[#out + 1] = "="
      end
    end
  end
  return table.concat(out)
end

-- The small JSON event of the Lambda scenarios (about 100 bytes), unique per request.
function M.lambda_event(writer, n)
  return string.format('{"order":"%s-%d","items":3,"shipping":"express","note":"leave at the door"}', writer, n)
end

-- A check (see M.run) passing 200 answers that contain marker and failing those that do not.
function M.body_contains(marker)
  return function(status, body)
    if status == 200 then
      return body:find(marker, 1, true) ~= nil
    end
  end
end

-- Number of non-overlapping occurrences of a plain string.
function M.count_plain(text, needle)
  local count, from = 0, 1
  while true do
    local at = text:find(needle, from, true)
    if not at then
      return count
    end
    count = count + 1
    from = at + #needle
  end
end

-- Wall-clock milliseconds (CLOCK_MONOTONIC) through LuaJIT's FFI: wrk's Lua has no clock finer than a second.
local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } sless_bench_timespec;
int clock_gettime(int clock_id, sless_bench_timespec* out);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("sless_bench_timespec")

function M.now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

-- A delay() for a fixed offered rate (per_second, this thread's share). wrk calls delay() before each request of
-- each connection; the thread hands out send times 1000/per_second ms apart, in order, to whichever connection
-- asks next, so the rate does not depend on the latency as long as some connection is free. A request whose slot
-- has already passed (every connection was busy) goes at once and is counted in the "late" counter (register it
-- with M.counter("late")); the schedule then restarts from now: missed slots are dropped, not made up in a burst,
-- so the achieved rate (requests / duration) shows whether the server kept up. wrk times a request from its send,
-- not from its slot; its timers have 1 ms steps, so single requests may go up to 1 ms early.
function M.pacer(per_second)
  local interval = 1000 / per_second
  local next_slot
  return function()
    local now = M.now_ms()
    if not next_slot then
      next_slot = now
    elseif next_slot < now - 1 then
      if stats.late then
        stats.late = stats.late + 1
      end
      next_slot = now
    end
    local wait = next_slot - now
    next_slot = next_slot + interval
    return wait > 0 and math.floor(wait) or 0
  end
end

-- Counter names printed in the result line; scenarios may add their own with M.counter(name).
local counter_names = { "ok", "non2xx", "check_ok", "check_bad" }

function M.counter(name)
  table.insert(counter_names, name)
end

local function json_number(value)
  if value ~= value or value == math.huge or value == -math.huge then
    return "null"
  end
  return string.format("%.17g", value)
end

function M.run(scenario)
  local threads = {}

  function setup(thread)
    table.insert(threads, thread)
    thread:set("thread_id", #threads)
  end

  function init(args)
    cfg = parse_args(args)
    cfg.access_key = cfg.access_key or "AKIDEXAMPLE"
    writer = (cfg.run or "0") .. "." .. thread_id
    stats = {}
    for _, name in ipairs(counter_names) do
      stats[name] = 0
    end
    sent = 0
    if scenario.init then
      scenario.init(cfg)
    end
  end

  function request()
    sent = sent + 1
    return scenario.request(sent)
  end

  if scenario.delay then
    function delay()
      return scenario.delay()
    end
  end

  function response(status, headers, body)
    if status >= 200 and status < 300 then
      stats.ok = stats.ok + 1
    else
      stats.non2xx = stats.non2xx + 1
    end
    if scenario.check then
      local verdict = scenario.check(status, body or "")
      if verdict == true then
        stats.check_ok = stats.check_ok + 1
      elseif verdict == false then
        stats.check_bad = stats.check_bad + 1
      end
    end
  end

  function done(summary, latency, requests)
    local totals = {}
    for _, name in ipairs(counter_names) do
      totals[name] = 0
    end
    for _, thread in ipairs(threads) do
      local thread_stats = thread:get("stats") or {}
      for _, name in ipairs(counter_names) do
        totals[name] = totals[name] + (thread_stats[name] or 0)
      end
    end
    local counters = {}
    for _, name in ipairs(counter_names) do
      counters[#counters + 1] = string.format('"%s":%d', name, totals[name])
    end
    local e = summary.errors
    io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"status_errors":%d,' ..
      '"latency_us":{"mean":%s,"max":%s,"p50":%s,"p90":%s,"p99":%s,"p999":%s},"counters":{%s}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.timeout, e.status,
      json_number(latency.mean), json_number(latency.max),
      json_number(latency:percentile(50)), json_number(latency:percentile(90)),
      json_number(latency:percentile(99)), json_number(latency:percentile(99.9)),
      table.concat(counters, ",")))
  end
end

-- A scenario of "POST /" requests in an AWS JSON protocol. spec: service (SigV4 scope), target (X-Amz-Target),
-- version ("1.0" or "1.1"), body = fn(n) -> request body, and optionally init = fn(cfg) and check (see M.run).
function M.json_post(spec)
  local headers
  M.run({
    init = function(cfg)
      headers = M.json_headers(spec.service, cfg.access_key, spec.target, spec.version)
      if spec.init then
        spec.init(cfg)
      end
    end,
    request = function(n)
      return wrk.format("POST", "/", headers, spec.body(n))
    end,
    check = spec.check,
  })
end

return M
