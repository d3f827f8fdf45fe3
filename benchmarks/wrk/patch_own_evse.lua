-- The CPO's own EVSE status changes through the management API (operator token), each
-- pushed by the node to its registered eMSP: 200 Locations, the first EVSE of each.
-- last_updated is the wall clock; the status changes on every pass over the ids.
dofile(os.getenv("BENCH_WRK_DIR") .. "/checked.lua")
local counter = 0
local ids = 200
local statuses = {"AVAILABLE", "CHARGING", "BLOCKED", "AVAILABLE", "OUTOFORDER"}
wrk.method = "PATCH"
wrk.headers["Authorization"] = "Token " .. os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"

request = function()
  counter = counter + 1
  local n = counter % ids
  local stamp = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local body = string.format('{"status":"%s","last_updated":"%s"}',
                             statuses[math.floor(counter / ids) % 5 + 1], stamp)
  return wrk.format(nil, "/ocpi/cpo/2.2.1/locations/NL/OCP/M" .. n .. "/M" .. n .. "-1",
                    nil, body)
end
