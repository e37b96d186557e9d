-- bench/wrk/bulk.lua: agents of several branches POSTing 5-printer batches.
-- Argument: a file with one line "TOKEN BRANCH_ID COMPANY_ID" per branch. Each
-- request goes to the next branch in turn (each thread starts at another one),
-- with that branch's credential, and names 5 distinct printers drawn from the
-- branch's pool of 200: early batches find new printers, later ones mostly see
-- them again; 1 in 20 items reports "offline", so some are updates. Every
-- request carries its own Idempotency-Key, as the agent sends.
dofile(debug.getinfo(1, "S").source:sub(2):match("^(.*/)") .. "report.lua")

local POOL = 200
local branches = {}
local counter = 0
thread_id = 0 -- set per thread by setup() (thread:set writes a global)
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_id", next_thread)
end

-- Keys must not repeat across runs (a warm-up, then the measured run): a
-- repeated key with the same body is answered from the stored response.
run_tag = "0"

function init(args)
  local f = io.open("/dev/urandom", "rb")
  if f then
    local b = f:read(6)
    f:close()
    run_tag = b:gsub(".", function(c) return string.format("%02x", c:byte()) end)
  end
  for line in io.lines(args[1]) do
    local tok, branch, company = line:match("^(%S+)%s+(%S+)%s+(%S+)$")
    if tok then
      branches[#branches + 1] = { auth = "Bearer " .. tok, branch = branch, company = company,
        index = #branches + 1 }
    end
  end
  math.randomseed(thread_id * 7919)
  counter = thread_id * 3
end

local function printer(b, k)
  local status = (math.random(20) == 1) and "offline" or "online"
  return string.format('{"name":"Printer %d","address":"10.%d.%d.%d","port":9100,' ..
    '"connectionType":"network","protocol":"raw","makeAndModel":"EPSON TM-T88VI",' ..
    '"status":"%s","sources":["netscan"]}', k, b.index, math.floor(k / 256), k % 256, status)
end

function request()
  counter = counter + 1
  local b = branches[counter % #branches + 1]
  local picked, items = {}, {}
  while #items < 5 do
    local k = math.random(0, POOL - 1)
    if not picked[k] then
      picked[k] = true
      items[#items + 1] = printer(b, k)
    end
  end
  local body = '{"branchId":"' .. b.branch .. '","companyId":"' .. b.company ..
    '","printers":[' .. table.concat(items, ",") .. ']}'
  return wrk.format("POST", "/api/v1/printing/printers/bulk", {
    ["Authorization"] = b.auth,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%s-%d-%d", run_tag, thread_id, counter),
  }, body)
end
