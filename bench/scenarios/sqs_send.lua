-- SQS SendMessage (JSON protocol 1.0) to one queue.
-- Arguments: queue_url=<url returned by CreateQueue>.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("common")

common.json_post({
  service = "sqs",
  target = "AmazonSQS.SendMessage",
  version = "1.0",
  body = function(n)
    return string.format('{"QueueUrl":"%s","MessageBody":"order %d-%d: 3 items, express shipping"}',
      cfg.queue_url, thread_id, n)
  end,
  check = common.body_contains('"MessageId"'),
})
