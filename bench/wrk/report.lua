-- bench/wrk/report.lua: done() for every wrk script of `make bench`. Prints one
-- line "BENCH {json}" that bench/compare.js reads: requests, duration, latency
-- percentiles (microseconds) and every kind of error wrk counts (err_status is
-- responses with a status of 400 or more).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
