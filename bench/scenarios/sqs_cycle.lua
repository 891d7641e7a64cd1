-- SQS consume loop (JSON protocol 1.0) on one queue, kept by each wrk thread for its connections:
--   receipt handles waiting?  -> DeleteMessageBatch of up to 10 of them
--   otherwise, alternately    -> ReceiveMessage (MaxNumberOfMessages 10, WaitTimeSeconds 0)
--                             -> SendMessageBatch of 10 new messages
-- wrk does not say which connection an answer came on, so the loop is per thread, not per connection;
-- with 16 connections a thread keeps several steps of it in flight at once.
-- Arguments: queue_url=<url>. Extra counters: received (handles seen), deleted and sent (entries the
-- server acknowledged), batch_failed (entries listed under Failed).
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("common")

common.counter("received")
common.counter("deleted")
common.counter("sent")
common.counter("batch_failed")

local receive_headers, delete_headers, send_headers
local receive_body
local pending = {} -- receipt handles (as they appeared in JSON, still escaped) not yet deleted
local turn = 0

local function delete_request()
  local entries = {}
  for i = 1, math.min(10, #pending) do
    local handle = table.remove(pending)
    entries[i] = string.format('{"Id":"d%d","ReceiptHandle":"%s"}', i, handle)
  end
  local body = string.format('{"QueueUrl":"%s","Entries":[%s]}', cfg.queue_url, table.concat(entries, ","))
  return wrk.format("POST", "/", delete_headers, body)
end

local function send_request(n)
  local entries = {}
  for i = 1, 10 do
    entries[i] = string.format('{"Id":"m%d","MessageBody":"job %s-%d-%d: resize image 640x480"}',
      i, writer, n, i)
  end
  local body = string.format('{"QueueUrl":"%s","Entries":[%s]}', cfg.queue_url, table.concat(entries, ","))
  return wrk.format("POST", "/", send_headers, body)
end

common.run({
  init = function(cfg)
    receive_headers = common.json_headers("sqs", cfg.access_key, "AmazonSQS.ReceiveMessage", "1.0")
    delete_headers = common.json_headers("sqs", cfg.access_key, "AmazonSQS.DeleteMessageBatch", "1.0")
    send_headers = common.json_headers("sqs", cfg.access_key, "AmazonSQS.SendMessageBatch", "1.0")
    receive_body = string.format('{"QueueUrl":"%s","MaxNumberOfMessages":10,"WaitTimeSeconds":0}', cfg.queue_url)
  end,
  request = function(n)
    if #pending > 0 then
      return delete_request()
    end
    turn = turn + 1
    if turn % 2 == 1 then
      return wrk.format("POST", "/", receive_headers, receive_body)
    end
    return send_request(n)
  end,
  -- The three answers are told apart by their content: only ReceiveMessage returns receipt handles, only
  -- SendMessageBatch returns MessageIds without them, and DeleteMessageBatch returns bare Ids.
  check = function(status, body)
    if status ~= 200 then
      return nil
    end
    local failed = common.count_plain(body, '"SenderFault"')
    stats.batch_failed = stats.batch_failed + failed
    if body:find('"ReceiptHandle"', 1, true) then
      for handle in body:gmatch('"ReceiptHandle"%s*:%s*"(.-[^\\])"') do
        table.insert(pending, handle)
        stats.received = stats.received + 1
      end
    elseif body:find('"MessageId"', 1, true) then
      stats.sent = stats.sent + common.count_plain(body, '"MessageId"')
    elseif body:find('"Successful"', 1, true) then
      stats.deleted = stats.deleted + common.count_plain(body, '"Id"') - failed
    end
    return true
  end,
})
