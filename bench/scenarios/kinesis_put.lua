-- Kinesis PutRecord (JSON 1.1): 96 bytes of base64 Data, PartitionKey "pk-<writer>-<n>".
-- Arguments: stream=<name>.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("common")

local data

common.json_post({
  service = "kinesis",
  target = "Kinesis_20131202.PutRecord",
  version = "1.1",
  init = function(cfg)
    data = common.base64(string.format("%-96s", "sensor reading from thread " .. thread_id .. ": 21.5C 40%RH"))
  end,
  body = function(n)
    return string.format('{"StreamName":"%s","Data":"%s","PartitionKey":"pk-%s-%d"}', cfg.stream, data, writer, n)
  end,
  check = common.body_contains('"SequenceNumber"'),
})
