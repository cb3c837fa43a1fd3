"""Drives `make bench`: wrk against a running `kassa serve` for each case, then prints one
table (requests/s, p50, p99, ratio to /health) with peak RSS, cold starts and binary sizes.

    python3 bench.py <base-url> <serve-pid> <cached|uncached> [results.json]
"""

import json
import re
import subprocess
import sys

CONNECTIONS = 32
DURATION = "10s"
THREADS = 2


def to_ms(value):
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, headers, script=None, script_args=()):
    args = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency"]
    for header in headers:
        args += ["-H", header]
    if script:
        args += ["-s", script]
    args.append(url)
    if script_args:
        args += ["--", *script_args]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"{url}: {errors.group(1)} error responses\n{out}")
    return {"rps": rps, "p50": p50, "p99": p99}


def main():
    base, pid, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    results_path = sys.argv[4] if len(sys.argv) > 4 else None
    tenant = ["X-Tenant-ID: bench"]
    if mode == "cached":
        cases = [
            ("/health", f"{base}/health", []),
            ("list page 1 (hit)", f"{base}/storefront/products", tenant),
            ("detail (hit)", f"{base}/storefront/products/product-4242", tenant),
            ("list attr[color]=red (hit)", f"{base}/storefront/products?attr%5Bcolor%5D=red", tenant),
            ("page home, 2 product grids (hit)", f"{base}/storefront/pages/home", tenant),
        ]
    else:
        cases = [
            ("list page 1 (no cache)", f"{base}/storefront/products", tenant),
            ("detail (no cache)", f"{base}/storefront/products/product-4242", tenant),
            ("page home, 2 product grids (no cache)", f"{base}/storefront/pages/home", tenant),
        ]
    rows = {}
    for name, url, headers in cases:
        rows[name] = wrk(url, headers)
    with open(f"/proc/{pid}/status") as f:
        rss = int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))
    result = {"rows": rows, "peak_rss_kb": rss}
    if results_path:
        with open(results_path, "w") as f:
            json.dump(result, f)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
