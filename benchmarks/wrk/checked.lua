-- Shared by the scripts: counts answers that are not OCPI success (status_code 1000),
-- since a refusal is an HTTP 200 too (2001 in the envelope) and would pass for speed.
local threads = {}
rejected = 0

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if not string.find(body, '"status_code":1000', 1, true) then
    rejected = rejected + 1
  end
end

function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do
    n = n + t:get("rejected")
  end
  io.write(string.format("OCPI rejected: %d\n", n))
end
