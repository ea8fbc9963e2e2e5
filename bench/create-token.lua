-- wrk script: every request creates a new API token (PUT /api/apiTokens/{random id}) with the admin token.
wrk.method = "PUT"
wrk.headers["Authorization"] = os.getenv("IOTC_MOCK_BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"roles":[{"role":"ae2c9854-393b-4f97-8c42-479d70ce626e"}]}'

-- `prefix` is a global that setup() gives each thread, so two threads never make the same id.
local counter = 0

function setup(thread)
  thread:set("prefix", tostring(math.random(1, 1000000000)))
end

function request()
  counter = counter + 1
  return wrk.format(nil, "/api/apiTokens/b" .. prefix .. "-" .. counter .. "?api-version=2022-07-31")
end
