-- wrk script for make bench's sign-in rows:
--   wrk -s shoppers.lua <base> -- <shoppers> <password>
-- each request signs in shopper-<random n>@bench.test of the bench shop.
local shoppers, password = 32, ""
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  shoppers = tonumber(args[1])
  password = args[2]
  math.randomseed(os.time() * 100 + (seed or 0))
end

function request()
  local n = math.random(shoppers) - 1
  local body = '{"email":"shopper-' .. n .. '@bench.test","password":"' .. password .. '"}'
  local headers = { ["X-Tenant-ID"] = "bench", ["Content-Type"] = "application/json" }
  return wrk.format("POST", "/storefront/customers/sign-in", headers, body)
end
