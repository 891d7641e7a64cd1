-- S3 GET of preloaded 1 KiB objects. See s3_objects.lua.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
require("s3_objects").get()
