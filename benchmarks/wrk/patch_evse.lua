-- PATCH of an EVSE's status: by default a CPO partner's to our eMSP side, across 1,000
-- Locations; the mixed load sets BENCH_PATCH_PATH/BENCH_ID/BENCH_IDS for our own
-- (management API) across 200. last_updated is the wall clock (see put_session.lua);
-- the status changes on every pass over the ids, so each PATCH is a real write.
dofile(os.getenv("BENCH_WRK_DIR") .. "/checked.lua")
local counter = 0
local ids = tonumber(os.getenv("BENCH_IDS") or "1000")
local path = os.getenv("BENCH_PATCH_PATH") or "/ocpi/emsp/2.2.1/locations/DE/CPX/"
local id = os.getenv("BENCH_ID") or "L"
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
  return wrk.format(nil, path .. id .. n .. "/" .. id .. n .. "-1", nil, body)
end
