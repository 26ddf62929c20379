-- (c) checkout mix: each journey is create -> update (1 -> 2) -> refresh -> confirm (60 %) or
-- delete (40 %). wrk cannot pair a response with its request, so journeys travel through a
-- per-thread queue keyed by the reservation_id every success body carries: a response pushes its
-- journey's next step, request() pops one or starts a new journey.
local queue = {}       -- reservation ids whose next step is due
local journeys = {}    -- reservation_id -> {user=, sku=, step=}
local started = 0
math.randomseed(1234)

local function new_journey()
  started = started + 1
  local user = string.format("mix-%s-%d-%d", RUN_ID, tid, started)
  local sku = sku_of(math.random(0, NSKU - 1))
  local body = string.format('{"user_id":"%s","sku":"%s","quantity":1,"channel":"web"}', user, sku)
  return wrk.format("POST", "/api/v1/reservations/", HEADERS, body), user, sku
end

local creating = {}    -- FIFO of (user, sku) awaiting their 201 (matched by user_id in the body)

function request()
  local rid = table.remove(queue, 1)
  if rid == nil then
    local req, user, sku = new_journey()
    creating[user] = sku
    return req
  end
  local j = journeys[rid]
  if j.step == "update" then
    local body = string.format(
      '{"timestamp":"%s","user_id":"%s","sku":"%s","old_quantity":1,"new_quantity":2}', iso_now(), j.user, j.sku)
    return wrk.format("POST", "/api/v1/reservations/update/", HEADERS, body)
  elseif j.step == "refresh" then
    return wrk.format("POST", "/api/v1/reservations/" .. rid .. "/refresh/", HEADERS)
  elseif math.random() < 0.6 then
    j.step = "done"
    return wrk.format("POST", "/api/v1/reservations/" .. rid .. "/confirm/", HEADERS)
  else
    journeys[rid] = nil
    return wrk.format("DELETE", "/api/v1/reservations/" .. rid .. "/", HEADERS)
  end
end

function response(status, headers, body)
  count(status, body)
  if status >= 300 or not body then return end
  local rid = body:match('"reservation_id":"([%x%-]+)"')
  if rid == nil then return end
  if status == 201 then
    local user = body:match('"user_id":"([^"]+)"')
    journeys[rid] = { user = user, sku = creating[user], step = "update" }
    creating[user] = nil
    table.insert(queue, rid)
    return
  end
  local j = journeys[rid]
  if j == nil then return end
  if j.step == "update" then j.step = "refresh"; table.insert(queue, rid)
  elseif j.step == "refresh" then j.step = "end"; table.insert(queue, rid)
  else journeys[rid] = nil end
end
