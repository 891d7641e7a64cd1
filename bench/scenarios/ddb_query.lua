-- DynamoDB Query (JSON 1.0) on the preloaded partition "team#1" (items sk = "item#000" .. "item#099"):
-- KeyConditionExpression "pk = :p AND sk >= :s" with a moving start and Limit 20, so every page is full.
-- Arguments: table=<name>. A 200 answer whose Count is not 20 counts as check_bad.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("common")

common.json_post({
  service = "dynamodb",
  target = "DynamoDB_20120810.Query",
  version = "1.0",
  body = function(n)
    return string.format(
      '{"TableName":"%s","KeyConditionExpression":"pk = :p AND sk >= :s",' ..
      '"ExpressionAttributeValues":{":p":{"S":"team#1"},":s":{"S":"item#%03d"}},"Limit":20}',
      cfg.table, (n + thread_id) % 81)
  end,
  check = function(status, body)
    if status == 200 then
      return tonumber(body:match('"Count"%s*:%s*(%d+)')) == 20
    end
  end,
})
