-- wrk script for bench.sh: sends METHOD PATH with each session cookie of FILE in turn, so that
-- the load spreads over many sessions as a site's visitors do.
-- Usage: wrk ... -s sessions.lua URL -- METHOD PATH FILE
local requests = {}
local next_request = 0

function init(args)
  local method, path, file = args[1], args[2], args[3]
  for cookie in io.lines(file) do
    requests[#requests + 1] = wrk.format(method, path, { ["Cookie"] = cookie })
  end
  assert(#requests > 0, "no session cookies in " .. file)
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end
