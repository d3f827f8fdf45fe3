-- PUT of spec-valid 2.2.1 Sessions, kWh rising, across 1,000 session ids.
-- last_updated is the wall clock (whole seconds): never ahead of the node's (which
-- refuses stamps far ahead), never behind an earlier run's (the warm-up's), and an
-- equal stamp is no stale write: kWh differs, so every request is a real write.
dofile(os.getenv("BENCH_WRK_DIR") .. "/checked.lua")
local counter = 0
local ids = 1000
wrk.method = "PUT"
wrk.headers["Authorization"] = "Token " .. os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
local template = '{"country_code":"DE","party_id":"CPX","id":"S%d",' ..
  '"start_date_time":"2026-11-20T10:00:00Z","kwh":%.3f,' ..
  '"cdr_token":{"country_code":"DE","party_id":"MSP","uid":"T%d","type":"RFID",' ..
  '"contract_id":"DEMSPC%06d"},"auth_method":"WHITELIST","location_id":"L%d",' ..
  '"evse_uid":"L%d-1","connector_id":"1","currency":"EUR","status":"ACTIVE",' ..
  '"last_updated":"%s"}'

request = function()
  counter = counter + 1
  local n = counter % ids
  local stamp = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local body = string.format(template, n, counter / 1000.0, n, n, n, n, stamp)
  return wrk.format(nil, "/ocpi/emsp/2.2.1/sessions/DE/CPX/S" .. n, nil, body)
end
