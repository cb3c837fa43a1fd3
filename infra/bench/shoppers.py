"""make bench's shopper rows, against a running `kassa serve`:

- sign-in (argon2id verification on the blocking pool, a session, tokens) at 32 connections;
- a cached product page read by a signed-in wholesale shopper (private, the group's entry);
- the same cached anonymous product page read while a sign-in storm runs at the same time
  (both at 32 connections): hashing must not stall the reads.

    python3 shoppers.py <base-url> <shoppers> <password> <results.json>
"""

import json
import os
import sys
import threading
import urllib.request

from bench import wrk

DETAIL = "/storefront/products/product-4242"


def sign_in(base, n, password):
    body = json.dumps({"email": f"shopper-{n}@bench.test", "password": password}).encode()
    request = urllib.request.Request(
        f"{base}/storefront/customers/sign-in", data=body, method="POST",
        headers={"X-Tenant-ID": "bench", "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)["access_token"]


def main():
    base, shoppers, password, results_path = sys.argv[1:5]
    script = os.path.join(os.path.dirname(__file__), "shoppers.lua")
    storm = lambda: wrk(base, [], script=script, script_args=[shoppers, password])
    rows = {"sign-in": storm()}

    token = sign_in(base, 0, password)  # shopper-0 is in wholesale
    signed_in = ["X-Tenant-ID: bench", f"Authorization: Bearer {token}"]
    urllib.request.urlopen(urllib.request.Request(
        base + DETAIL, headers=dict(h.split(": ", 1) for h in signed_in))).read()
    rows["detail (hit, signed in, wholesale)"] = wrk(base + DETAIL, signed_in)

    anonymous = ["X-Tenant-ID: bench"]
    rows["detail (hit), alone"] = wrk(base + DETAIL, anonymous)
    during = {}
    threads = [
        threading.Thread(target=lambda: during.setdefault("storm", storm())),
        threading.Thread(target=lambda: during.setdefault("reads", wrk(base + DETAIL, anonymous))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows["detail (hit) during a sign-in storm"] = during["reads"]
    rows["sign-in during the storm"] = during["storm"]
    with open(results_path, "w") as f:
        json.dump({"rows": rows}, f)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
