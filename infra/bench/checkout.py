"""make bench's checkout row: a shopper's checkout against a running `kassa serve` and the
Mollie simulator, timed in three parts, `n` times one after another (one shopper at a time:
latency, not load).

    python3 checkout.py <base-url> <simulator-url> <n> <results.json>

- checkout: `POST /storefront/checkout` → 201 (order, reservation, payment row, Mollie's
  create-payment call and storing its id);
- paid → placed: the hosted checkout form submitted with "paid" → the simulator's webhook
  call to Kassa answered 200 (Kassa fetched the payment from Mollie and placed the order;
  the simulator stamps a delivery when Kassa's answer arrived);
- checkout → placed: both, without the shopper's time on Mollie's page.

The `demo` shop of `kassa seed-demo` (its shipping zone, tax rates and the simulator's key
from DEMO_MOLLIE_KEY) is the shop; a line of one unit of a product in stock per checkout.
"""

import json
import os
import sys
import time
import urllib.request
import uuid


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values):
    return {"n": len(values), "p50": percentile(values, 50), "p99": percentile(values, 99), "max": max(values)}


def main():
    base, sim, n, results_path = sys.argv[1], sys.argv[2].rstrip("/"), int(sys.argv[3]), sys.argv[4]
    os.environ["KASSA_URL"] = base
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
    import checkout_demo as demo

    variants = []
    for item in demo.call("GET", "/storefront/products?limit=50", quiet=True)["items"]:
        page = demo.call("GET", f"/storefront/products/{item['handle']}", quiet=True)
        variants += [v["id"] for v in page["variants"] if v.get("in_stock")]
    address = {"first_name": "Ada", "last_name": "Lovelace", "line1": "Damrak 1", "postal_code": "1012 LG",
               "city": "Amsterdam", "country": "NL"}
    checkout, placed, total = [], [], []
    for i in range(n):
        started = None
        for j in range(len(variants)):
            # Business packs refuse one unit, and a variant's last unit may still be reserved by
            # the previous order when this checkout starts (its "deduct stock" step, which
            # consumes the reservation, runs after the webhook answered): the next variant then.
            line = {"variant_id": variants[(i + j) % len(variants)], "quantity": 1}
            created = demo.call("POST", "/storefront/carts", {"lines": [line]}, quiet=True, refusable=True)
            if not created:
                continue
            cart, auth = created["cart"], {"Cart-Token": created["cart_token"]}
            cart = demo.call("PATCH", f"/storefront/carts/{cart['id']}",
                             {"email": "bench@example.com", "shipping_country": "NL", "shipping_address": address},
                             auth, quiet=True)
            demo.call("PATCH", f"/storefront/carts/{cart['id']}",
                      {"shipping_rate_id": cart["shipping_methods"][0]["rate_id"]}, auth, quiet=True)
            started_at = time.time()
            started = demo.call("POST", "/storefront/checkout",
                                {"cart_id": cart["id"], "redirect_url": f"{base}/health"},
                                {**auth, "Idempotency-Key": str(uuid.uuid4())}, quiet=True, refusable=True)
            created_at = time.time()
            if started:
                break
        if not started:
            sys.exit("no variant could be checked out")
        payment = started["checkout_url"].rstrip("/").rsplit("/", 1)[-1]
        with open(os.devnull, "w") as quiet:
            stdout, sys.stdout = sys.stdout, quiet
            try:
                demo.pay(started["checkout_url"], "paid")
            finally:
                sys.stdout = stdout
        paid_at = time.time()
        delivered = None
        for _ in range(400):
            with urllib.request.urlopen(f"{sim}/_sim/webhooks?paymentId={payment}") as response:
                deliveries = json.load(response)["deliveries"]
            ok = [d for d in deliveries if d.get("status") == 200]
            if ok:
                delivered = ok[0]["atMs"] / 1000
                break
            time.sleep(0.005)
        if delivered is None:
            sys.exit(f"no webhook of {payment} was answered 200")
        status = demo.call("GET", f"/storefront/orders/{started['order_id']}/status", headers=auth, quiet=True)
        if status["order"]["status"] != "placed":
            sys.exit(f"order {started['order_id']} is {status['order']['status']} after its webhook")
        done_at = delivered
        checkout.append((created_at - started_at) * 1000)
        placed.append((done_at - paid_at) * 1000)
        total.append(((created_at - started_at) + (done_at - paid_at)) * 1000)
    latencies = {"checkout (POST /storefront/checkout, Mollie create)": summary(checkout),
                 "paid -> placed (webhook: fetch, apply, order.placed)": summary(placed),
                 "checkout -> placed (without the shopper's time)": summary(total)}
    with open(results_path, "w") as f:
        json.dump({"rows": {}, "latencies": latencies}, f)
    print(json.dumps(latencies))


if __name__ == "__main__":
    main()
