"""Prints the `make bench` table from the two wrk runs, the cold starts and binary sizes.

    python3 report.py cached.json uncached.json coldstart_ms relay_json workflows_json [rows:STORE=carts.json ...] NAME=BYTES ...
"""

import datetime
import json
import os
import platform
import sys


def main():
    cached, uncached = (json.load(open(p)) for p in sys.argv[1:3])
    coldstart = float(sys.argv[3])
    relay = json.loads(sys.argv[4])
    workflows = json.loads(sys.argv[5])
    pairs = dict(arg.split("=", 1) for arg in sys.argv[6:])
    sizes = {name: size for name, size in pairs.items() if not name.startswith("rows:")}
    rows = {**cached["rows"], **uncached["rows"]}
    for name, path in pairs.items():
        if name.startswith("rows:"):
            rows.update(json.load(open(path))["rows"])
    health = rows["/health"]["rps"]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"Kassa storefront bench — {datetime.date.today()} — {os.cpu_count()} cores ({cpu}), "
          f"{platform.system()} {platform.release()}; wrk 32 connections, 10 s per row; 10,000 products x 3 variants")
    print()
    print(f"| {'case':<38} | {'req/s':>10} | {'p50 ms':>8} | {'p99 ms':>8} | {'vs /health':>10} |")
    print(f"|{'-' * 40}|{'-' * 12}|{'-' * 10}|{'-' * 10}|{'-' * 12}|")
    for name, row in rows.items():
        ratio = row["rps"] / health * 100
        print(f"| {name:<38} | {row['rps']:>10.0f} | {row['p50']:>8.2f} | {row['p99']:>8.2f} | {ratio:>9.0f} % |")
    print()
    rss = max(cached["peak_rss_kb"], uncached["peak_rss_kb"]) / 1024
    print(f"peak RSS of kassa serve: {rss:.1f} MiB (cached run {cached['peak_rss_kb'] / 1024:.1f} MiB, "
          f"uncached run {uncached['peak_rss_kb'] / 1024:.1f} MiB)")
    print(f"cold start (storefront binary, exec -> response posted, median of 20): {coldstart:.1f} ms")
    print(f"outbox commit -> consumer done (RabbitMQ, {relay['events']} events): "
          f"p50 {relay['p50']:.2f} ms, p99 {relay['p99']:.2f} ms, max {relay['max']:.2f} ms")
    print(f"order commit -> On order placed finished (relay, RabbitMQ, worker; stock, taxes, email to the "
          f"SMTP sink; {workflows['orders']} orders, one per 100 ms): "
          f"p50 {workflows['p50']:.2f} ms, p99 {workflows['p99']:.2f} ms, max {workflows['max']:.2f} ms")
    for name, path in pairs.items():
        latencies = json.load(open(path)).get("latencies") if name.startswith("rows:") else None
        for case, l in (latencies or {}).items():
            print(f"{case}, {l['n']} one after another: p50 {l['p50']:.1f} ms, p99 {l['p99']:.1f} ms, max {l['max']:.1f} ms")
    for name, path in pairs.items():
        timing = json.load(open(path)).get("enumeration_timing") if name.startswith("rows:") else None
        for route, cases in (timing or {}).items():
            known, unknown = cases["known"], cases["unknown"]
            print(f"{route}, known vs unknown address: median {known['median_ms']:.1f} vs {unknown['median_ms']:.1f} ms, "
                  f"statuses {known['statuses']} vs {unknown['statuses']}")
    print("stripped release binaries: " + ", ".join(f"{n} {int(b) / 1e6:.1f} MB" for n, b in sorted(sizes.items())))


if __name__ == "__main__":
    main()
