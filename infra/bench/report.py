"""Prints the `make bench` table from the wrk runs (Kassa with the cache on and off, nginx
serving Kassa's bytes), the round trips per miss, the cold starts and binary sizes.

    python3 report.py cached.json uncached.json nginx.json roundtrips.json coldstart_ms relay_json workflows_json [relay_sqs=JSON] [workflows_sqs=JSON] [layout=PATH] [rows:STORE=carts.json ...] NAME=BYTES ...
"""

import datetime
import json
import os
import platform
import sys


def main():
    cached, uncached, nginx, roundtrips = (json.load(open(p)) for p in sys.argv[1:5])
    coldstart = float(sys.argv[5])
    relay = json.loads(sys.argv[6])
    workflows = json.loads(sys.argv[7])
    pairs = dict(arg.split("=", 1) for arg in sys.argv[8:])
    relay_sqs = json.loads(pairs.pop("relay_sqs")) if "relay_sqs" in pairs else None
    workflows_sqs = json.loads(pairs.pop("workflows_sqs")) if "workflows_sqs" in pairs else None
    layout = pairs.pop("layout", "")
    sizes = {name: size for name, size in pairs.items() if not name.startswith("rows:")}
    rows = {}
    for name, row in cached["rows"].items():
        rows[name] = row
        if f"nginx: {name}" in nginx["rows"]:
            rows[f"nginx: {name}"] = nginx["rows"][f"nginx: {name}"]
    rows.update(uncached["rows"])
    for name, path in pairs.items():
        if name.startswith("rows:"):
            rows.update(json.load(open(path))["rows"])
    health = rows["/health"]["rps"]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"Kassa storefront bench — {datetime.date.today()} — {os.cpu_count()} cores ({cpu}), "
          f"{platform.system()} {platform.release()}; wrk 32 connections, 10 s per row; 10,000 products x 3 variants")
    rounds = next((len(row["rounds_rps"]) for row in cached["rows"].values() if "rounds_rps" in row), None)
    if rounds:
        print(f"Hit rows and their nginx rows: the median of {rounds} rounds, Kassa's and nginx's taken in turn.")
    print()
    print(f"| {'case':<45} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'CPU ms/req':>10} | {'vs /health':>10} | {'vs nginx':>8} |")
    print(f"|{'-' * 47}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 12}|{'-' * 12}|{'-' * 10}|")
    for name, row in rows.items():
        ratio = row["rps"] / health * 100
        versus = rows.get(f"nginx: {name}")
        vs_nginx = f"{row['rps'] / versus['rps'] * 100:>6.0f} %" if versus else " " * 8
        cpu = f"{row['cpu_ms']:>10.3f}" if "cpu_ms" in row else " " * 10
        print(f"| {name:<45} | {row['rps']:>8.0f} | {row['p50']:>7.2f} | {row['p99']:>7.2f} | {cpu} | {ratio:>9.0f} % | {vs_nginx} |")
    print()
    for name, row in rows.items():
        versus = rows.get(f"nginx: {name}")
        if versus and "rounds_rps" in row and "rounds_rps" in versus:
            rounds = zip(row["rounds_rps"], versus["rounds_rps"])
            print(f"{name} vs nginx, round by round: "
                  + ", ".join(f"{ours / theirs * 100:.0f} %" for ours, theirs in rounds)
                  + f" (Kassa {', '.join(f'{r:.0f}' for r in row['rounds_rps'])} req/s; "
                  + f"nginx {', '.join(f'{r:.0f}' for r in versus['rounds_rps'])})")
    for case in ("list page 1", "detail"):
        big, small = rows.get(f"{case} (no cache)"), rows.get(f"{case} (no cache, 1,000 products)")
        if big and small:
            print(f"miss, 10,000 vs 1,000 products, {case}: {big['rps']:.0f} vs {small['rps']:.0f} req/s "
                  f"({(big['rps'] / small['rps'] - 1) * 100:+.0f} %), p99 {big['p99']:.2f} vs {small['p99']:.2f} ms")
    for case, trips in roundtrips.items():
        print(f"Postgres round trips per miss, {case} (cache off, one request at a time): "
              f"{trips['during']:.2f} while the request is open, {trips['after']:.2f} after its answer, "
              f"{trips['checks']:.2f} pool release checks")
    print(f"peak RSS of nginx serving the same bytes: {nginx['peak_rss_kb'] / 1024:.1f} MiB (master)")
    rss = max(cached["peak_rss_kb"], uncached["peak_rss_kb"]) / 1024
    print(f"peak RSS of kassa serve: {rss:.1f} MiB (cached run {cached['peak_rss_kb'] / 1024:.1f} MiB, "
          f"uncached run {uncached['peak_rss_kb'] / 1024:.1f} MiB)")
    print(f"code layout of kassa: {layout_line(layout)}")
    print(f"cold start (storefront binary, exec -> response posted, median of 20): {coldstart:.1f} ms")
    print(f"outbox commit -> consumer done (RabbitMQ, {relay['events']} events): "
          f"p50 {relay['p50']:.2f} ms, p99 {relay['p99']:.2f} ms, max {relay['max']:.2f} ms")
    if relay_sqs:
        print(f"outbox commit -> consumer done (publish after commit to SQS on the AWS emulator, no relay, "
              f"{relay_sqs['events']} events): p50 {relay_sqs['p50']:.2f} ms, p99 {relay_sqs['p99']:.2f} ms, "
              f"max {relay_sqs['max']:.2f} ms")
    print(f"order commit -> On order placed finished (relay, RabbitMQ, worker; stock, taxes, email to the "
          f"SMTP sink; {workflows['orders']} orders, one per 100 ms): "
          f"p50 {workflows['p50']:.2f} ms, p99 {workflows['p99']:.2f} ms, max {workflows['max']:.2f} ms")
    if workflows_sqs:
        print(f"order commit -> On order placed finished (published after commit to SQS on the AWS emulator, "
              f"worker's SQS loop, no relay; {workflows_sqs['orders']} orders, one per 100 ms): "
              f"p50 {workflows_sqs['p50']:.2f} ms, p99 {workflows_sqs['p99']:.2f} ms, max {workflows_sqs['max']:.2f} ms")
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
    print("stripped release binaries of this build (profile.release, features unified with kassa; Lambda's: make sizes): " + ", ".join(f"{n} {int(b) / 1e6:.1f} MB" for n, b in sorted(sizes.items())))


def layout_line(path):
    """What the release link did with infra/layout/kassa.order (infra/layout/link.py)."""
    if not path or not os.path.isfile(path):
        return "linked without an order file (no infra/layout/kassa.order, or not a release build)"
    with open(path) as f:
        layout = json.load(f)
    if not layout.get("ordered"):
        return f"not ordered: {layout.get('why', '?')}"
    return (f"of the {layout['functions']:,} functions of infra/layout/kassa.order, {layout['exact']:,} found as "
            f"profiled, {layout['by_key']:,} changed since (every instance placed), {layout['missing']:,} gone; "
            f"{layout['symbols_placed']:,} of the link's {layout['symbols_in_link']:,} functions placed first")


if __name__ == "__main__":
    main()
