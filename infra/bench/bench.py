"""Drives `make bench`: wrk against a running server for each case and writes the rows
(requests/s, p50, p99, CPU ms per request of the server's processes) with the server's peak
RSS.

    python3 bench.py <base-url> <server-pid> <cached|uncached|nginx> <results.json> [capture-dir]

`cached` also saves each hit case's response body to `capture-dir/<slug>.json`; `nginx`
serves exactly those bytes (see bench.sh) and runs the same cases against them, so each
Kassa row can be compared with nginx serving the same answer.
"""

import json
import os
import re
import subprocess
import sys
import urllib.request

CONNECTIONS = 32
DURATION = "10s"
THREADS = 2
TICKS = os.sysconf("SC_CLK_TCK")

TENANT = ["X-Tenant-ID: bench"]
# (name, path, tenant header, slug of the captured body)
HITS = [
    ("list page 1 (hit)", "/storefront/products", "list"),
    ("detail (hit)", "/storefront/products/product-4242", "detail"),
    ("list attr[color]=red (hit)", "/storefront/products?attr%5Bcolor%5D=red", "list-red"),
    ("page home, 2 product grids (hit)", "/storefront/pages/home", "page-home"),
]
MISSES = [
    ("list page 1 (no cache)", "/storefront/products", "bench"),
    ("detail (no cache)", "/storefront/products/product-4242", "bench"),
    ("page home, 2 product grids (no cache)", "/storefront/pages/home", "bench"),
    # The same reads in a shop of 1,000 products: misses should not grow with the catalog.
    ("list page 1 (no cache, 1,000 products)", "/storefront/products", "bench1k"),
    ("detail (no cache, 1,000 products)", "/storefront/products/product-424", "bench1k"),
]


def to_ms(value):
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def processes(pid):
    """The server and its child processes (nginx's workers)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(pid), *map(int, children)]


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICKS


def wrk(url, headers, pids=(), script=None, script_args=()):
    """One wrk row; with `pids`, also the CPU those processes spent per request."""
    args = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency"]
    for header in headers:
        args += ["-H", header]
    if script:
        args += ["-s", script]
    args.append(url)
    if script_args:
        args += ["--", *script_args]
    before = cpu_seconds(pids)
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pids) - before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"{url}: {errors.group(1)} error responses\n{out}")
    row = {"rps": rps, "p50": p50, "p99": p99}
    if pids:
        row["cpu_ms"] = cpu * 1000 / max(requests, 1)
    return row


def capture(url, headers, path):
    request = urllib.request.Request(url, headers=dict(h.split(": ", 1) for h in headers))
    with urllib.request.urlopen(request) as response:
        body = response.read()
        assert response.headers["X-Cache"] == "hit", (url, response.headers["X-Cache"])
    with open(path, "wb") as f:
        f.write(body)


def main():
    base, pid, mode, results_path = sys.argv[1:5]
    capture_dir = sys.argv[5] if len(sys.argv) > 5 else None
    pids = processes(pid)
    if mode == "cached":
        cases = [("/health", f"{base}/health", [])]
        for name, path, slug in HITS:
            cases.append((name, base + path, TENANT))
            if capture_dir:
                capture(base + path, TENANT, f"{capture_dir}/{slug}.json")
    elif mode == "nginx":
        cases = [(f"nginx: {name}", f"{base}/{slug}.json", []) for name, _, slug in HITS]
    else:
        cases = [(name, base + path, [f"X-Tenant-ID: {tenant}"]) for name, path, tenant in MISSES]
    rows = {name: wrk(url, headers, pids) for name, url, headers in cases}
    with open(f"/proc/{pid}/status") as f:
        rss = int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))
    result = {"rows": rows, "peak_rss_kb": rss}
    with open(results_path, "w") as f:
        json.dump(result, f)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
