"""Round trips to Postgres per storefront miss, for `make bench`: sends each case's request
one after another to a `kassa serve` with the cache off whose database connection goes
through `pgproxy.py`, and counts the client's sends the proxy saw while each request was
open (on the request's path) and after its answer (e.g. a read's rollback, sent with the
pool's check when the connection goes back). The pool's check itself (a lone Sync, sent by
a task of its own once the handler has let go of the connection, so never waited for by
the request) is counted apart, wherever it falls.

    python3 roundtrips.py <base-url> <proxy-stats-url> <results.json> NAME=PATH[@TENANT] ...
"""

import json
import sys
import time
import urllib.request

REQUESTS = 100


def get(url, tenant):
    request = urllib.request.Request(url, headers={"X-Tenant-ID": tenant})
    with urllib.request.urlopen(request) as response:
        response.read()
        assert response.status == 200, (url, response.status)


def sends(stats_url):
    with urllib.request.urlopen(stats_url) as response:
        return json.load(response)


def main():
    base, stats_url, out = sys.argv[1:4]
    rows = {}
    for arg in sys.argv[4:]:
        name, target = arg.split("=", 1)
        path, _, tenant = target.partition("@")
        get(base + path, tenant or "bench")  # prepared statements, a warm pool
        time.sleep(0.2)
        sends(stats_url)
        spans = []
        for _ in range(REQUESTS):
            start = time.monotonic()
            get(base + path, tenant or "bench")
            spans.append((start, time.monotonic()))
            time.sleep(0.02)
        seen = sends(stats_url)
        queries = [t for t, kind in seen if kind == "query"]
        during = sum(1 for t in queries for a, b in spans if a <= t <= b)
        rows[name] = {
            "during": during / REQUESTS,
            "after": (len(queries) - during) / REQUESTS,
            "checks": (len(seen) - len(queries)) / REQUESTS,
        }
    with open(out, "w") as f:
        json.dump(rows, f)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
