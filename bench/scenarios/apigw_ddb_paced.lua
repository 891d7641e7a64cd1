-- HTTP API GET /items/{id} -> function -> DynamoDB GetItem at a fixed offered rate. See apigw_items.lua.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
require("apigw_items").paced()
