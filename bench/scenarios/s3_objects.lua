-- S3 object scenarios (REST-XML, path-style URLs "/<bucket>/<key>"), shared by s3_put_1k, s3_put_1m and s3_get_1k.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("common")

local M = {}

local function s3_headers(access_key)
  return common.with_headers(common.signed_headers("s3", access_key), {
    ["X-Amz-Content-Sha256"] = "UNSIGNED-PAYLOAD",
  })
end

-- PUT a new object of size bytes on every request, key "obj-<writer>-<n>". Arguments: bucket=<name>.
function M.put(size)
  local headers
  local payload
  common.run({
    init = function(cfg)
      headers = common.with_headers(s3_headers(cfg.access_key), { ["Content-Type"] = "application/octet-stream" })
      payload = string.rep("0123456789abcdef", size / 16)
    end,
    request = function(n)
      return wrk.format("PUT", string.format("/%s/obj-%s-%d", cfg.bucket, writer, n), headers, payload)
    end,
  })
end

-- GET one of the objects bench/run preloaded ("obj-0" .. "obj-<keys-1>"); a body of another size counts as
-- check_bad. Arguments: bucket=<name> keys=<count> size=<bytes>.
function M.get()
  local headers
  common.run({
    init = function(cfg)
      headers = s3_headers(cfg.access_key)
    end,
    request = function(n)
      local key = (n * 7 + thread_id * 131) % tonumber(cfg.keys)
      return wrk.format("GET", string.format("/%s/obj-%d", cfg.bucket, key), headers)
    end,
    check = function(status, body)
      if status == 200 then
        return #body == tonumber(cfg.size)
      end
    end,
  })
end

return M
