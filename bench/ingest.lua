-- wrk script for `just bench ingest`: unique event ids on every request.
-- args: MODE ("plain", "pool" or "cycle"), FILE, PATH, AUTH
--   plain: FILE holds one envelope with the 32-character placeholder EVENT_ID_PLACEHOLDER_XXXXXXXXXXX
--          (twice); each request substitutes a fresh id.
--   pool:  FILE holds precompressed envelopes, each prefixed by an 8-digit length; every
--          thread sends its own share, each body once.
--   cycle: as pool, going round the share again (for the bare handler, which reads no ids).
local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_id", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  mode, path, auth = args[1], args[3], args[4]
  local file = assert(io.open(args[2], "rb"))
  local data = file:read("*a")
  file:close()
  counter = 0
  wrk.method = "POST"
  wrk.path = path
  wrk.headers["X-Sentry-Auth"] = auth
  wrk.headers["Content-Type"] = "application/x-sentry-envelope"
  if mode == "plain" then
    template = data
  else
    wrk.headers["Content-Encoding"] = "br"
    bodies = {}
    local position, index = 1, 0
    local threads_total = tonumber(args[5])
    while position <= #data do
      local length = tonumber(data:sub(position, position + 7))
      local body = data:sub(position + 8, position + 7 + length)
      if index % threads_total == thread_id then
        table.insert(bodies, body)
      end
      index = index + 1
      position = position + 8 + length
    end
  end
end

function request()
  counter = counter + 1
  local body
  if mode == "plain" then
    -- Unique by thread and counter, with a letter before each zero-padded part: no run
    -- of 13 digits, which the secret scan would have to check as a card number.
    local id = string.format("%08x%x%07x%x%07x%x%07x", math.random(0x10000000, 0x7fffffff),
                             math.random(10, 15), counter % 0x10000000,
                             math.random(10, 15), thread_id,
                             math.random(10, 15), math.random(0, 0xfffffff))
    body = template:gsub("EVENT_ID_PLACEHOLDER_XXXXXXXXXXX", id)
  else
    body = bodies[counter]
    if body == nil and mode == "cycle" then
      -- The bare handler ignores ids: going round the pool measures it, not the pool's size.
      counter = 1
      body = bodies[1]
    elseif body == nil then
      body = bodies[#bodies]
      wrk.thread:stop()
    end
  end
  return wrk.format(nil, nil, nil, body)
end
