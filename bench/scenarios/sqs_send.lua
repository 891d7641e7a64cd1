-- SQS SendMessage (JSON protocol 1.0) to one queue.
-- Arguments: queue_url=<url returned by CreateQueue>.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("common")

common.json_post({
  service = "sqs",
  target = "AmazonSQS.SendMessage",
  version = "1.0",
  body = function(n)
    return string.format('{"QueueUrl":"%s","MessageBody":"order %s-%d: 3 items, express shipping"}',
      cfg.queue_url, writer, n)
  end,
  check = common.body_contains('"MessageId"'),
})
