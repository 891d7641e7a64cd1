-- S3 PUT of a new 1 KiB object per request. See s3_objects.lua.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
require("s3_objects").put(1024)
