-- request.lua's request shape plus a fresh DPoP proof on every request (RFC 9449: each proof is
-- accepted once). The proofs are made by the benchmark before the run, one per line in the file
-- BENCH_PROOFS; when only a reserve is left the thread stops, so that no proof is sent twice
-- (the benchmark makes enough for the slice: this is the safety net).
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

local proofs, used, reserve = {}, 0, 0

init = function(args)
  for line in io.lines(os.getenv("BENCH_PROOFS")) do
    if line ~= "" then proofs[#proofs + 1] = line end
  end
  reserve = tonumber(os.getenv("BENCH_RESERVE") or "64")
end

request = function()
  used = used + 1
  -- The thread stops once the reserve is reached; the requests already under way finish. Past
  -- the end (never, unless more requests than the reserve were under way): the last proof again,
  -- refused as a replay and counted as an error.
  if used + reserve >= #proofs then wrk.thread:stop() end
  wrk.headers["DPoP"] = proofs[math.min(used, #proofs)]
  return wrk.format()
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"socket_errors":%d,"status_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
