-- DynamoDB PutItem (JSON 1.0): a new item on every request, key "user#<writer>-<n>".
-- Arguments: table=<name>.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("common")

common.json_post({
  service = "dynamodb",
  target = "DynamoDB_20120810.PutItem",
  version = "1.0",
  body = function(n)
    return string.format(
      '{"TableName":"%s","Item":{"pk":{"S":"user#%s-%d"},"sk":{"S":"profile"},' ..
      '"name":{"S":"User %d"},"age":{"N":"%d"},"active":{"BOOL":true},"tags":{"SS":["bench","load"]}}}',
      cfg.table, writer, n, n, 18 + n % 60)
  end,
})
