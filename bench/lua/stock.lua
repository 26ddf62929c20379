-- The service's cheapest authenticated call: GET /api/v1/stock/{sku}/ over NSKU SKUs.
local i = 0

function request()
  i = (i + 7919) % NSKU
  return wrk.format("GET", "/api/v1/stock/" .. sku_of(i) .. "/", HEADERS)
end

function response(status, headers, body)
  count(status, body)
end
