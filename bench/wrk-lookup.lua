-- Public lookups over the dossier codes listed in the file named by CODES (one per line), for
-- wrk, a load generator much lighter than the Rust harness' HTTP client, so that more of the
-- two cores go to the server. Usage: see docs/benchmarks.md.
local codes = {}
for line in io.lines(os.getenv("CODES")) do
  codes[#codes + 1] = line
end
local i = 0
request = function()
  i = i % #codes + 1
  return wrk.format("GET", "/api/v1/lookup/" .. codes[i])
end
