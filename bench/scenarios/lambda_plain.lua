-- The comparison request of lambda_overhead: Lambda GetAccountSettings (REST-JSON, no function
-- involved) carrying a body of the same size as lambda_invoke's event, on the same HTTP path through
-- the gateway and the Lambda service's dispatch. Its answer is about as long as the echo's.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("common")

local headers

common.run({
  init = function(cfg)
    headers = common.with_headers(common.signed_headers("lambda", cfg.access_key),
      { ["Content-Type"] = "application/json" })
  end,
  request = function(n)
    return wrk.format("GET", "/2016-08-19/account-settings", headers, common.lambda_event(writer, n))
  end,
  check = common.body_contains('"AccountLimit"'),
})
