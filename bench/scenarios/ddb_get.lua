-- DynamoDB GetItem (JSON 1.0) on the keys bench/run preloaded: "user#0" .. "user#<keys-1>".
-- Arguments: table=<name> keys=<count>. A 200 answer without an Item counts as check_bad.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("common")

common.json_post({
  service = "dynamodb",
  target = "DynamoDB_20120810.GetItem",
  version = "1.0",
  body = function(n)
    local key = (n * 7 + thread_id * 131) % tonumber(cfg.keys)
    return string.format('{"TableName":"%s","Key":{"pk":{"S":"user#%d"},"sk":{"S":"profile"}}}', cfg.table, key)
  end,
  check = common.body_contains('"Item"'),
})
