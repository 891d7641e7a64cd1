-- SNS Publish (query protocol: form-encoded POST, XML answer) to a topic with one SQS subscriber.
-- Arguments: topic_arn=<arn>.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("common")

local headers
local topic

common.run({
  init = function(cfg)
    headers = common.with_headers(common.signed_headers("sns", cfg.access_key), {
      ["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8",
    })
    topic = common.form_encode(cfg.topic_arn)
  end,
  request = function(n)
    local message = common.form_encode(string.format("price update %s-%d: 42.17 EUR", writer, n))
    local body = "Action=Publish&TopicArn=" .. topic .. "&Message=" .. message .. "&Version=2010-03-31"
    return wrk.format("POST", "/", headers, body)
  end,
  check = common.body_contains("<MessageId>"),
})
