"""Drives `make bench`: wrk against a running server for each case and writes the rows
(requests/s, p50, p99, CPU ms per request of the server's processes) with the server's peak
RSS.

    python3 bench.py <base-url> <server-pid> uncached <results.json>
    python3 bench.py capture <base-url> <capture-dir>
    python3 bench.py paired <base-url> <server-pid> <nginx-url> <nginx-pid> <cached.json> <nginx.json>

`capture` saves each hit case's response body to `capture-dir/<slug>.json`, and nginx
serves exactly those bytes (see bench.sh). `paired` runs `/health`, then each hit case
against Kassa and nginx in turn, ROUNDS times (Kassa, nginx, Kassa, nginx, ...), both
servers up: the two sides of a comparison run seconds apart, so a machine whose speed drifts
over the minutes of a bench moves both. Each row is the round with the median req/s, and
the row keeps every round's req/s.
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
ROUNDS = 3
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


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))


def save(path, rows, pid):
    result = {"rows": rows, "peak_rss_kb": peak_rss_kb(pid)}
    with open(path, "w") as f:
        json.dump(result, f)
    print(json.dumps(result))


def median_round(rounds):
    """The round with the median req/s, with every round's req/s beside it."""
    row = dict(sorted(rounds, key=lambda r: r["rps"])[len(rounds) // 2])
    row["rounds_rps"] = [r["rps"] for r in rounds]
    return row


def paired(base, pid, nginx_base, nginx_pid, cached_path, nginx_path):
    kassa, nginx = processes(pid), processes(nginx_pid)
    rows = {"/health": wrk(f"{base}/health", [], kassa)}
    nginx_rows = {}
    for name, path, slug in HITS:
        ours, theirs = [], []
        for _ in range(ROUNDS):
            ours.append(wrk(base + path, TENANT, kassa))
            theirs.append(wrk(f"{nginx_base}/{slug}.json", [], nginx))
        rows[name] = median_round(ours)
        nginx_rows[f"nginx: {name}"] = median_round(theirs)
    save(cached_path, rows, pid)
    save(nginx_path, nginx_rows, nginx_pid)


def main():
    if sys.argv[1] == "capture":
        base, capture_dir = sys.argv[2:4]
        for _, path, slug in HITS:
            capture(base + path, TENANT, f"{capture_dir}/{slug}.json")
        return
    if sys.argv[1] == "paired":
        paired(*sys.argv[2:8])
        return
    base, pid, mode, results_path = sys.argv[1:5]
    assert mode == "uncached", mode
    cases = [(name, base + path, [f"X-Tenant-ID: {tenant}"]) for name, path, tenant in MISSES]
    pids = processes(pid)
    save(results_path, {name: wrk(url, headers, pids) for name, url, headers in cases}, pid)


if __name__ == "__main__":
    main()
