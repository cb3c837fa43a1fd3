#!/usr/bin/env python3
"""A shopper's checkout against `make dev`, one printed step at a time (`make checkout-demo`).

Creates a cart with a demo product, sets email, address, country and the cheapest shipping
method, checks out, and prints Mollie's (the simulator's) checkout URL. Open it, pick "paid",
and the return page's data (`GET /storefront/orders/{id}/status`) shows the order placed;
`make mails` lists the confirmation the "On order placed" workflow sent. With `--pay paid`
(or failed, canceled, expired) the script submits the simulator's checkout form itself, as
a browser would, and waits for the order to move.

Standard library only. KASSA_URL (default http://127.0.0.1:8080) and SHOP (default demo).
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

BASE = os.environ.get("KASSA_URL", "http://127.0.0.1:8080").rstrip("/")
SHOP = os.environ.get("SHOP", "demo")


def call(method, path, body=None, headers=None, quiet=False, refusable=False):
    """Calls Kassa, printing the equivalent curl; returns the JSON answer (`None` for a 4xx
    when `refusable`)."""
    url = path if path.startswith("http") else BASE + path
    all_headers = {"X-Tenant-ID": SHOP, **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    if not quiet:
        shown = " ".join(f"-H '{k}: {v}'" for k, v in all_headers.items())
        payload = f" -d '{json.dumps(body)}'" if body is not None else ""
        print(f"\n$ curl -X {method} {shown}{payload} {url}")
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        if refusable and 400 <= err.code < 500:
            return None
        sys.exit(f"{method} {path} answered {err.code}: {err.read().decode()}")
    except urllib.error.URLError as err:
        sys.exit(f"Kassa does not answer at {BASE} ({err.reason}); start it with `make dev`")
    return answer


def pay(checkout_url, outcome):
    """Submits the simulator's hosted checkout form, as the shopper's browser does."""
    print(f"\n$ curl -X POST -d 'outcome={outcome}' {checkout_url}   # what the form's button sends")
    request = urllib.request.Request(
        checkout_url, data=f"outcome={outcome}".encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(request, timeout=30)
    except urllib.error.HTTPError as err:
        if err.code != 303:
            sys.exit(f"the simulator refused the outcome {outcome}: {err.code} {err.read().decode()}")
        print(f"  → the browser is sent back to {err.headers.get('Location')}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pay", choices=["paid", "failed", "canceled", "expired"],
                        help="submit the checkout page with this outcome instead of leaving it to you")
    args = parser.parse_args()

    print(f"# 1. Products of the {SHOP} shop that are in stock")
    products = call("GET", "/storefront/products?limit=20")
    variants = []
    for item in products["items"]:
        page = call("GET", f"/storefront/products/{item['handle']}", quiet=True)
        variants += [(item["handle"], v) for v in page["variants"] if v.get("in_stock")]
    if not variants:
        sys.exit("no product of the shop is in stock")

    print("\n# 2. An anonymous cart with one unit (keep the cart_token: it opens the cart)")
    created = None
    for handle, variant in variants:
        # Some demo products are sold to businesses in packs only: the cart refuses one unit.
        created = call("POST", "/storefront/carts", {"lines": [{"variant_id": variant["id"], "quantity": 1}]},
                       {"Idempotency-Key": str(uuid.uuid4())}, quiet=created is not None, refusable=True)
        if created:
            print(f"  → {handle}: variant {variant['id']} ({variant.get('sku')})")
            break
    if not created:
        sys.exit("no product of the shop can be bought one unit at a time")
    cart, token = created["cart"], created["cart_token"]
    auth = {"Cart-Token": token}
    print(f"  → cart {cart['id']}, total {cart['total_amount']} (minor units of {cart['currency']})")

    print("\n# 3. Email, address and country; the cart then lists the shipping methods")
    address = {"first_name": "Ada", "last_name": "Lovelace", "line1": "Damrak 1", "postal_code": "1012 LG",
               "city": "Amsterdam", "country": "NL"}
    cart = call("PATCH", f"/storefront/carts/{cart['id']}",
                {"email": "ada@example.com", "shipping_country": "NL", "shipping_address": address}, auth)
    methods = cart["shipping_methods"]
    if not methods:
        sys.exit("the shop does not ship to NL (make dev seeds a zone; did staff delete it?)")
    for m in methods:
        print(f"  → {m['name']}: {m['amount']} (rate_id {m['rate_id']})")

    print("\n# 4. Choose the first method")
    cart = call("PATCH", f"/storefront/carts/{cart['id']}", {"shipping_rate_id": methods[0]["rate_id"]}, auth)
    print(f"  → shipping {cart['shipping_amount']}, tax {cart['tax_amount']}, total {cart['total_amount']}")

    print("\n# 5. Check out: an order pending payment, its stock reserved, and Mollie's checkout URL")
    started = call("POST", "/storefront/checkout",
                   {"cart_id": cart["id"], "redirect_url": f"{BASE}/health"},
                   {**auth, "Idempotency-Key": str(uuid.uuid4())})
    order, checkout_url = started["order_id"], started["checkout_url"]
    print(f"  → order #{started['order_number']} ({order})")
    print(f"\n  Open {checkout_url} and pick an outcome (or run with --pay paid).")

    status_path = f"/storefront/orders/{order}/status"
    if not args.pay:
        print("\n# 6. Then ask what happened (the shop's return page does this):")
        print(f"$ curl -H 'X-Tenant-ID: {SHOP}' -H 'Cart-Token: {token}' {BASE}{status_path}")
        print("  and `make mails` lists the confirmation once the order is placed.")
        return
    pay(checkout_url, args.pay)
    print("\n# 6. What the return page shows (Kassa asks Mollie while the payment is open)")
    for _ in range(40):
        status = call("GET", status_path, headers=auth, quiet=True)
        if status["payment_status"] not in ("open", "pending"):
            break
        time.sleep(0.25)
    call("GET", status_path, headers=auth)
    print(f"  → order {status['order']['status']}, payment {status['payment_status']}")
    expected = {"paid": "placed", "failed": "payment_failed", "canceled": "canceled", "expired": "expired"}
    if status["order"]["status"] != expected[args.pay]:
        sys.exit(f"the order is {status['order']['status']}, not {expected[args.pay]}")
    if status["order"]["status"] == "placed":
        print("  The \"On order placed\" workflow deducts the stock, calculates taxes and mails the")
        print("  confirmation: `make mails` lists it.")


if __name__ == "__main__":
    main()
