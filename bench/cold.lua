-- wrk script: cold unfurls. Every request names a URI never asked for before (a counter in
-- the query) on one of UNFURL_BENCH_PAGES distinct local pages, so each one is a real fetch,
-- an extraction and a subscription written. With UNFURL_BENCH_REFRESH_EVERY = N > 0, every
-- Nth request is instead a refresh-token grant (POST /oauth/token), with the tokens listed
-- one per line in UNFURL_BENCH_REFRESH_FILE; each answer's new refresh token replaces the
-- spent one.
local threads = {}
local next_id = 0

setup = function(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local token = os.getenv("UNFURL_BENCH_TOKEN")
local origin = os.getenv("UNFURL_BENCH_ORIGIN")
local pages = tonumber(os.getenv("UNFURL_BENCH_PAGES") or "2000")
local every = tonumber(os.getenv("UNFURL_BENCH_REFRESH_EVERY") or "0")
local client = "client_id=" .. (os.getenv("UNFURL_BENCH_CLIENT_ID") or "")
  .. "&client_secret=" .. (os.getenv("UNFURL_BENCH_CLIENT_SECRET") or "")
local nthreads = tonumber(os.getenv("UNFURL_BENCH_THREADS") or "2")
local counter = 0
local pool = {}
refreshed = 0
refused = 0
-- Answers by status class: "4xx" counts every 4xx but 429, which has its own count.
s429 = 0
s4xx = 0
s5xx = 0

init = function(args)
  if every > 0 then
    local n = 0
    for line in io.lines(os.getenv("UNFURL_BENCH_REFRESH_FILE")) do
      -- Each thread takes its own share of the tokens.
      if n % nthreads == id then table.insert(pool, line) end
      n = n + 1
    end
  end
end

request = function()
  counter = counter + 1
  if every > 0 and counter % every == 0 and #pool > 0 then
    local refresh = table.remove(pool)
    return wrk.format("POST", "/oauth/token",
      { ["Content-Type"] = "application/x-www-form-urlencoded" },
      "grant_type=refresh_token&refresh_token=" .. refresh .. "&" .. client)
  end
  local uri = origin .. "/page/" .. ((counter * 2 + id) % pages) .. "?t=" .. id .. "&n=" .. counter
  return wrk.format("POST", "/unfurl",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token },
    '{"uri":"' .. uri .. '"}')
end

response = function(status, headers, body)
  if status == 429 then
    s429 = s429 + 1
  elseif status >= 500 then
    s5xx = s5xx + 1
  elseif status >= 400 then
    s4xx = s4xx + 1
  end
  if every > 0 and status ~= 429 then
    local fresh = string.match(body, '"refresh_token":"([^"]+)"')
    if fresh then
      table.insert(pool, fresh)
      refreshed = refreshed + 1
    elseif string.find(body, '"error"', 1, true) and not string.find(body, '"operations"', 1, true) then
      refused = refused + 1
    end
  end
end

done = function(summary, latency, requests)
  local r, f, c429, c4xx, c5xx = 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    r = r + (t:get("refreshed") or 0)
    f = f + (t:get("refused") or 0)
    c429 = c429 + (t:get("s429") or 0)
    c4xx = c4xx + (t:get("s4xx") or 0)
    c5xx = c5xx + (t:get("s5xx") or 0)
  end
  io.write(string.format(
    "RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d non2xx=%d errors=%d refreshed=%d refused=%d status429=%d status4xx=%d status5xx=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    r, f, c429, c4xx, c5xx))
end
