-- A plain GET of a fixed 200 answer: nginx's ceiling for HTTP on this machine.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("common")

local headers

common.run({
  init = function(cfg)
    headers = { ["Host"] = wrk.host .. ":" .. wrk.port }
  end,
  request = function(n)
    return wrk.format("GET", "/", headers)
  end,
  check = function(status, body)
    if status == 200 then
      return body == "ok"
    end
  end,
})
