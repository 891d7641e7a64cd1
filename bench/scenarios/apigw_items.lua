-- HTTP API route GET /items/{id} (Lambda proxy, payload 2.0) of the bench plugin's get_item, which reads the item
-- from DynamoDB; shared by apigw_ddb (closed loop) and apigw_ddb_paced (a fixed offered rate).
-- Requests go to the daemon's main port with Host "<api>.execute-api.localhost" ($default stage: no stage in the
-- path), for ids "item-0" .. "item-<keys-1>" picked at random. Arguments: api=<api id> keys=<count>.
--
-- Answer check: a 200 answer must name an id that this thread asked for and has not had answered yet (wrk's
-- response() does not say which request an answer belongs to, but with no pipelining every answer is one of the
-- thread's requests in flight), and carry the fields bench/harness/apigw_bench.py gave that item, in plain JSON.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("common")

local M = {}

-- The fields of item i as the function's plain JSON renders them (nlohmann::json sorts the keys).
local function expected_fields(i)
  return {
    string.format('"name":"Item %d"', i),
    string.format('"price":%d.25', (i * 37) % 1000),
    string.format('"qty":%d', i % 50),
  }
end

local function scenario()
  local headers, keys
  local waiting = {}  -- id -> requests of this thread not answered yet
  return {
    init = function(cfg)
      headers = { ["Host"] = cfg.api .. ".execute-api.localhost:" .. wrk.port }
      keys = tonumber(cfg.keys)
      math.randomseed(thread_id * 7919 + tonumber(cfg.run or 0) * 104729)
    end,
    request = function(n)
      local id = "item-" .. math.random(0, keys - 1)
      waiting[id] = (waiting[id] or 0) + 1
      return wrk.format("GET", "/items/" .. id, headers)
    end,
    check = function(status, body)
      if status ~= 200 then
        return nil
      end
      local number = body:match('"id":"item%-(%d+)"')
      local id = number and ("item-" .. number)
      if not id or (waiting[id] or 0) == 0 then
        return false
      end
      waiting[id] = waiting[id] - 1
      for _, field in ipairs(expected_fields(tonumber(number))) do
        if not body:find(field, 1, true) then
          return false
        end
      end
      return true
    end,
  }
end

-- As many requests as the connections keep in flight (the runner's -c).
function M.closed()
  common.run(scenario())
end

-- About rate requests/s offered, all threads together; see common.pacer. Arguments also: rate=<req/s>
-- threads=<wrk threads>.
function M.paced()
  local s = scenario()
  local base_init = s.init
  s.init = function(cfg)
    base_init(cfg)
    s.delay = common.pacer(tonumber(cfg.rate) / tonumber(cfg.threads))
  end
  s.delay = function()
    return 0
  end
  common.counter("late")
  common.run(s)
end

return M
