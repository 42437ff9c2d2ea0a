-- wrk script for `just bench e2e`: real sentry-sdk envelopes, a unique event id on every request.
-- args: FILE, PATH, AUTH, RUN (8 hex digits, new for every run: wrk's Lua random numbers
-- repeat from run to run, and an id sent twice is stored once). Prints `unavailable N`.
--   FILE holds envelopes (one per issue), each prefixed by an 8-digit length, with the
--   32-character placeholder EVENT_ID_PLACEHOLDER_XXXXXXXXXXX where the SDK wrote the event
--   id; requests go round the envelopes and substitute a fresh id each time.
local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_id", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  counter = 0
  unavailable = 0
  run = args[4]
  wrk.method = "POST"
  wrk.path = args[2]
  wrk.headers["X-Sentry-Auth"] = args[3]
  wrk.headers["Content-Type"] = "application/x-sentry-envelope"
  templates = {}
  local position = 1
  while position <= #data do
    local length = tonumber(data:sub(position, position + 7))
    table.insert(templates, data:sub(position + 8, position + 7 + length))
    position = position + 8 + length
  end
end

function request()
  counter = counter + 1
  -- Unique by thread and counter, with a letter before each zero-padded part: no run of
  -- 13 digits, which the secret scan would have to check as a card number.
  local id = string.format("%s%x%07x%x%07x%x%07x", run,
                           math.random(10, 15), counter % 0x10000000,
                           math.random(10, 15), thread_id,
                           math.random(10, 15), math.random(0, 0xfffffff))
  local template = templates[(counter + thread_id) % #templates + 1]
  local body = template:gsub("EVENT_ID_PLACEHOLDER_XXXXXXXXXXX", id)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 503 then
    unavailable = unavailable + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("unavailable")
  end
  io.write(string.format("unavailable %d\n", total))
end
