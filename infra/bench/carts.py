"""make bench's cart rows: cart create, add line and get cart with wrk (32 connections)
against a running `kassa serve` whose cart store is `store` (valkey or dynamodb).

    python3 carts.py <base-url> <store> <variant ids, comma-separated> <results.json>

Add line and get cart spread over 256 carts made first (a shop's carts, not one hot cart).
"""

import json
import os
import sys
import urllib.request

from bench import wrk

CARTS = 256


def create_cart(base):
    request = urllib.request.Request(
        f"{base}/storefront/carts", data=b"{}", method="POST",
        headers={"X-Tenant-ID": "bench", "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        created = json.load(response)
    return created["cart"]["id"], created["cart_token"]


def main():
    base, store, variants, results_path = sys.argv[1:5]
    carts_file = os.path.join(os.path.dirname(results_path), f"carts-{store}.txt")
    with open(carts_file, "w") as f:
        for _ in range(CARTS):
            f.write("%s %s\n" % create_cart(base))
    script = os.path.join(os.path.dirname(__file__), "carts.lua")
    rows = {}
    for name, mode in [("cart create", "create"), ("add line", "add"), ("get cart", "get")]:
        rows[f"{name} ({store})"] = wrk(base, [], script=script, script_args=[mode, carts_file, variants])
    with open(results_path, "w") as f:
        json.dump({"rows": rows}, f)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
