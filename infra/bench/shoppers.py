"""make bench's shopper rows, against a running `kassa serve`:

- sign-in (argon2id verification on the blocking pool, a session, tokens) at 32 connections;
- a cached product page read by a signed-in wholesale shopper (private, the group's entry);
- the same cached anonymous product page read while a sign-in storm runs at the same time
  (both at 32 connections): hashing must not stall the reads;
- no enumeration by timing: median times (11 sequential requests each) of sign-up, password
  reset and failed sign-in for known and unknown addresses.

    python3 shoppers.py <base-url> <shoppers> <password> <results.json>
"""

import json
import os
import statistics
import sys
import threading
import time
import urllib.error
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


def timed_post(base, path, body):
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"X-Tenant-ID": "bench", "Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    return (time.perf_counter() - started) * 1000, status


def enumeration_timing(base, password):
    """Median ms and the statuses, known vs unknown address, per route."""
    cases = {
        "sign-up": ("/storefront/customers",
                    lambda n, known: {"email": f"shopper-{n}@bench.test" if known else f"new-{time.time_ns()}@bench.test",
                                      "password": "a long enough password"}),
        "password reset": ("/storefront/customers/password-reset",
                           lambda n, known: {"email": f"shopper-{n}@bench.test" if known else f"nobody-{n}@bench.test"}),
        # One wrong password per account stays under the per-account limit.
        "failed sign-in": ("/storefront/customers/sign-in",
                           lambda n, known: {"email": f"shopper-{n}@bench.test" if known else f"nobody-{n}@bench.test",
                                             "password": "not the password"}),
    }
    timing = {}
    for name, (path, body) in cases.items():
        result = {}
        for known in (True, False):
            samples = [timed_post(base, path, body(n + 1, known)) for n in range(11)]
            result["known" if known else "unknown"] = {
                "median_ms": statistics.median(ms for ms, _ in samples),
                "statuses": sorted({status for _, status in samples}),
            }
        timing[name] = result
    return timing


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
    timing = enumeration_timing(base, password)
    with open(results_path, "w") as f:
        json.dump({"rows": rows, "enumeration_timing": timing}, f)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
