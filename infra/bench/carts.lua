-- wrk script for make bench's cart rows:
--   wrk -s carts.lua <base> -- <create|add|get> <carts file: "id token" lines> <variant ids, comma-separated>
-- add and get pick a random cart of the file (and a random variant) per request.
local mode, carts, variants = nil, {}, {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  mode = args[1]
  for line in io.lines(args[2]) do
    local id, token = line:match("(%S+) (%S+)")
    carts[#carts + 1] = { id = id, token = token }
  end
  for v in string.gmatch(args[3], "[^,]+") do
    variants[#variants + 1] = v
  end
  math.randomseed(os.time() * 100 + (seed or 0))
end

function request()
  local headers = { ["X-Tenant-ID"] = "bench", ["Content-Type"] = "application/json" }
  if mode == "create" then
    return wrk.format("POST", "/storefront/carts", headers, "{}")
  end
  local cart = carts[math.random(#carts)]
  headers["Cart-Token"] = cart.token
  if mode == "add" then
    local variant = variants[math.random(#variants)]
    local body = '{"variant_id":"' .. variant .. '","quantity":1}'
    return wrk.format("POST", "/storefront/carts/" .. cart.id .. "/lines", headers, body)
  end
  return wrk.format("GET", "/storefront/carts/" .. cart.id, headers, nil)
end
