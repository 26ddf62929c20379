-- (a) and (b): updateReservation over NRES reservations (users USER_PREFIX..i, SKU sku_of(i)).
-- Thread t owns reservations t, t+NTHREADS, t+2*NTHREADS…, visited round robin, so one reservation
-- is never in flight twice. Quantities toggle 1 -> 2 -> 1; the state is optimistic (a refused
-- request leaves it one step off, which costs one 409 Quantity_conflict and then heals itself).
local quantity = {}
local cursor = nil

function request()
  if cursor == nil then cursor = tid end
  local i = cursor
  cursor = cursor + NTHREADS
  if cursor >= NRES then cursor = tid end
  local old = quantity[i] or 1
  local new = 3 - old
  quantity[i] = new
  local body = string.format(
    '{"timestamp":"%s","user_id":"%s%d","sku":"%s","old_quantity":%d,"new_quantity":%d}',
    iso_now(), USER_PREFIX, i, sku_of(i), old, new)
  return wrk.format("POST", "/api/v1/reservations/update/", HEADERS, body)
end

function response(status, headers, body)
  count(status, body)
end
