-- bench/wrk/get.lua: the same GET again and again (the URL and -H headers from
-- the command line); only the report is added.
dofile(debug.getinfo(1, "S").source:sub(2):match("^(.*/)") .. "report.lua")
