-- (a) and (b): updateReservation over NRES reservations (users USER_PREFIX..i, SKU sku_of(i)).
-- Thread t owns reservations t, t+NTHREADS, t+2*NTHREADS…, visited round robin, so one reservation
-- is never in flight twice. Quantities toggle 1 -> 2 -> 1. Each request carries its reservation's
-- index in X-Request-ID, which the service echoes, so a response (200, 403 stock short, 409 with the
-- current quantity) sets that reservation's known quantity right.
local quantity = {}
local cursor = nil
local sent = 0

function request()
  if cursor == nil then cursor = tid end
  local i = cursor
  cursor = cursor + NTHREADS
  if cursor >= NRES then cursor = tid end
  local old = quantity[i] or 1
  local new = 3 - old
  sent = sent + 1
  local headers = { ["Content-Type"] = HEADERS["Content-Type"], ["Authorization"] = HEADERS["Authorization"],
                    ["X-Request-ID"] = string.format("r%d.%d.%d", i, old, sent) }
  local body = string.format(
    '{"timestamp":"%s","user_id":"%s%d","sku":"%s","old_quantity":%d,"new_quantity":%d}',
    iso_now(), USER_PREFIX, i, sku_of(i), old, new)
  return wrk.format("POST", "/api/v1/reservations/update/", headers, body)
end

function response(status, headers, body)
  count(status, body)
  local i, old = (headers["X-Request-ID"] or ""):match("^r(%d+)%.(%d+)%.")
  if i == nil then return end
  i, old = tonumber(i), tonumber(old)
  if status == 200 then
    quantity[i] = 3 - old
  elseif status == 409 then
    quantity[i] = tonumber(body:match('"current_quantity":(%d+)')) or old
  else
    quantity[i] = old
  end
end
