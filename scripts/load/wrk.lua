-- The one request generator of scripts/load.sh, used by every row so that wrk's own cost per
-- request is the same everywhere: every request comes from request(), picking the next of a
-- list of pre-formatted requests (one for most rows, one per token for the rotating rows).
--
--   wrk ... -s scripts/load/wrk.lua -- MODE FILE OFFSET THREADS
--   MODE   get:    GET, no Authorization header (FILE ignored)
--          bearer: GET, "Authorization: Bearer <line>" for each line of FILE, in turn
--          basic:  POST grant_type=client_credentials, "Authorization: <line>" for each line
--   OFFSET where in FILE to start (the harness moves it on, so first grants never repeat)
--   THREADS wrk's -t: thread k takes lines OFFSET+k, OFFSET+k+THREADS, ...
--
-- done() prints one machine-readable line:
--   RESULT <requests> <duration us> <non-2xx/3xx> <socket errors> <p50 us> <p99 us>

local threads_seen = 0
function setup(thread)
   thread:set("tid", threads_seen)
   threads_seen = threads_seen + 1
end

local requests, count, index, step = {}, 0, 0, 1

function init(args)
   local mode, file = args[1], args[2]
   local offset, threads = tonumber(args[3] or "0"), tonumber(args[4] or "1")
   local method, body, headers = "GET", nil, {}
   if mode == "basic" then
      method, body = "POST", "grant_type=client_credentials"
      headers["Content-Type"] = "application/x-www-form-urlencoded"
   end
   if mode == "get" then
      requests[1] = wrk.format(method, nil, headers, body)
   else
      local prefix = (mode == "bearer") and "Bearer " or ""
      for line in io.lines(file) do
         if line ~= "" then
            headers["Authorization"] = prefix .. line
            requests[#requests + 1] = wrk.format(method, nil, headers, body)
         end
      end
   end
   count = #requests
   step = threads
   -- request() adds step before reading: start one step early.
   index = (offset + (tid or 0) - step) % count
end

function request()
   index = (index + step) % count
   return requests[index + 1]
end

function done(summary, latency, _)
   local e = summary.errors
   io.write(string.format("RESULT %d %d %d %d %d %d\n", summary.requests, summary.duration,
      e.status, e.connect + e.read + e.write + e.timeout,
      latency:percentile(50), latency:percentile(99)))
end
