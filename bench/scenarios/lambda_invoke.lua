-- Lambda Invoke (REST-JSON, synchronous RequestResponse) of an echo function with a small JSON event.
-- Arguments: function=<name>. The answer must be the event itself (the bench plugin's `echo`).
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("common")

local headers, path

common.run({
  init = function(cfg)
    headers = common.with_headers(common.signed_headers("lambda", cfg.access_key),
      { ["Content-Type"] = "application/json" })
    path = "/2015-03-31/functions/" .. cfg["function"] .. "/invocations"
  end,
  request = function(n)
    return wrk.format("POST", path, headers, common.lambda_event(writer, n))
  end,
  check = common.body_contains('"order":"'),
})
