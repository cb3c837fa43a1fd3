"""Contract test: Mollie's own Python client (mollie-api-python, from PyPI, unchanged) against
the simulator. If the simulator drifts from what a real Mollie client expects — field names,
HAL links the client follows, error bodies the client turns into its exception types — this
fails. `make test` runs it with the project virtualenv's python:

    $KASSA_VENV/bin/python infra/mollie-sim/contract_test.py

The client is pointed at the simulator only through its documented setting: the `api_endpoint`
argument of `mollie.api.client.Client` (default https://api.mollie.com; the library reads no
environment variable for it).
"""

from __future__ import annotations

import json
import pathlib
import re
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

from mollie.api.client import Client
from mollie.api.error import NotFoundError, UnauthorizedError, UnprocessableEntityError

SIM = pathlib.Path(__file__).with_name("sim.py")
KEY = "test_" + "dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"  # the shape of Mollie's documented example key
OTHER_KEY = "test_" + "B" * 30
LIVE_KEY = "live_" + "C" * 32
UNKNOWN_KEY = "test_" + "Z" * 30
PAYMENT_ID = re.compile(r"^tr_[A-Za-z0-9]{10}$")
REFUND_ID = re.compile(r"^re_[A-Za-z0-9]{10}$")

sim: Optional[subprocess.Popen[bytes]] = None
api = ""  # http://127.0.0.1:<port>
receiver: "Receiver"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Receiver:
    """A webhook receiver: records each call; answers `failures[payment_id]` times with a 500
    before answering 200."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []  # (path, content type, body)
        self.failures: dict[str, int] = {}
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                payment_id = urllib.parse.parse_qs(body).get("id", [""])[0]
                with outer.lock:
                    outer.calls.append((self.path, self.headers.get("Content-Type", ""), body))
                    failing = outer.failures.get(payment_id, 0)
                    if failing:
                        outer.failures[payment_id] = failing - 1
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/mollie"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies_for(self, payment_id: str) -> list[str]:
        with self.lock:
            return [body for _, _, body in self.calls if body == f"id={payment_id}"]

    def calls_for(self, payment_id: str) -> list[tuple[str, str, str]]:
        with self.lock:
            return [call for call in self.calls if call[2] == f"id={payment_id}"]


def setUpModule() -> None:
    global sim, api, receiver
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    sim = subprocess.Popen(
        [sys.executable, str(SIM), "serve", "--port", str(port), "--key", KEY, "--key", OTHER_KEY,
         "--webhook-retries", "3", "--webhook-backoff-ms", "50"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"{api}/_sim/health", timeout=1):
                return True
        except OSError:
            return False

    wait_for(answers, "the simulator to start")
    receiver = Receiver()


def tearDownModule() -> None:
    if sim:
        sim.terminate()
        sim.wait(10)
    receiver.server.shutdown()


def client(key: str = KEY) -> Client:
    mollie = Client(api_endpoint=api)
    mollie.set_api_key(key)
    return mollie


def new_payment(mollie: Optional[Client] = None, **overrides: Any):
    data = {
        "amount": {"currency": "EUR", "value": "24.95"},
        "description": "Order 1001",
        "redirectUrl": "https://shop.example/orders/1001/return",
        "webhookUrl": receiver.url,
        "metadata": {"order_id": "1001", "shop": "demo"},
    }
    data.update(overrides)
    return (mollie or client()).payments.create(data)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def checkout(checkout_url: str, outcome: str, method: Optional[str] = None) -> tuple[int, Optional[str]]:
    """Submits the hosted checkout's form the way a browser does; returns (status, Location)."""
    page = urllib.request.urlopen(checkout_url, timeout=5).read().decode()
    action = re.search(r'<form method="post" action="([^"]+)"', page)
    assert action, page
    assert f'value="{outcome}"' in page, f"{outcome} not offered: {page}"
    fields = {"outcome": outcome} | ({"method": method} if method else {})
    request = urllib.request.Request(urllib.parse.urljoin(checkout_url, action.group(1)),
                                     data=urllib.parse.urlencode(fields).encode(), method="POST")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        response = opener.open(request, timeout=5)
        return response.status, response.headers.get("Location")
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Location")


def sim_json(path: str, body: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{api}{path}", data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def mollie_time(value: str) -> datetime:
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", value), value
    return datetime.fromisoformat(value)


class Payments(unittest.TestCase):
    def test_a_created_payment_has_mollies_fields_and_a_checkout_link(self) -> None:
        payment = new_payment()
        self.assertRegex(payment.id, PAYMENT_ID)
        self.assertEqual(payment.resource, "payment")
        self.assertEqual(payment.mode, "test")
        self.assertTrue(payment.is_open())
        self.assertFalse(payment.is_paid())
        self.assertEqual(payment.amount, {"currency": "EUR", "value": "24.95"})
        self.assertEqual(payment.description, "Order 1001")
        self.assertEqual(payment.metadata, {"order_id": "1001", "shop": "demo"})
        self.assertIsNone(payment.method)
        self.assertFalse(payment.is_cancelable)
        self.assertEqual(payment.sequence_type, "oneoff")
        self.assertRegex(payment.profile_id, r"^pfl_\w{10}$")
        self.assertEqual(payment.redirect_url, "https://shop.example/orders/1001/return")
        self.assertEqual(payment.webhook_url, receiver.url)
        created, expires = mollie_time(payment.created_at), mollie_time(payment.expires_at)
        self.assertEqual((expires - created).total_seconds(), 15 * 60)
        self.assertEqual(payment.checkout_url, f"{api}/checkout/{payment.id}")
        self.assertEqual(payment["_links"]["self"], {"href": f"{api}/v2/payments/{payment.id}",
                                                     "type": "application/hal+json"})
        self.assertIsNone(payment.amount_remaining, "not refundable before it is paid")

    def test_a_payment_is_fetched_by_id_with_the_same_fields(self) -> None:
        created = new_payment(metadata=[1, "two", {"three": None}])
        fetched = client().payments.get(created.id)
        self.assertEqual(dict(fetched), dict(created))
        self.assertEqual(fetched.metadata, [1, "two", {"three": None}])

    def test_payments_list_newest_first_in_pages_the_client_follows(self) -> None:
        mollie = client("test_" + "L" * 30)
        sim_json("/_sim/keys", {"key": "test_" + "L" * 30})
        ids = [new_payment(mollie, description=f"List {i}").id for i in range(5)]
        first = mollie.payments.list(limit=2)
        self.assertEqual(first.count, 2)
        self.assertEqual([p.id for p in first], ids[::-1][:2])
        self.assertFalse(first.has_previous())
        second = first.get_next()
        third = second.get_next()
        self.assertEqual([p.id for p in second], ids[::-1][2:4])
        self.assertEqual([p.id for p in third], ids[::-1][4:])
        self.assertFalse(third.has_next())
        self.assertEqual([p.id for p in third.get_previous()], ids[::-1][2:4])
        everything = mollie.payments.list()
        self.assertEqual(len(everything), 5)
        self.assertEqual(everything["_links"]["next"], None)

    def test_a_bank_transfer_payment_is_canceled_and_an_ideal_one_cannot_be(self) -> None:
        mollie = client()
        transfer = new_payment(method="banktransfer")
        self.assertTrue(transfer.is_cancelable)
        canceled = mollie.payments.delete(transfer.id)
        self.assertTrue(canceled.is_canceled())
        self.assertFalse(canceled.is_cancelable)
        mollie_time(canceled.canceled_at)
        wait_for(lambda: receiver.bodies_for(transfer.id), "the canceled webhook")
        ideal = new_payment(method="ideal")
        with self.assertRaises(UnprocessableEntityError) as raised:
            mollie.payments.delete(ideal.id)
        self.assertEqual(raised.exception.status, 422)
        self.assertTrue(mollie.payments.get(ideal.id).is_open())

    def test_paying_at_the_checkout_redirects_and_calls_the_webhook_with_only_the_id(self) -> None:
        payment = new_payment()
        status, location = checkout(payment.checkout_url, "paid")
        self.assertEqual((status, location), (303, payment.redirect_url))
        wait_for(lambda: receiver.bodies_for(payment.id), "the paid webhook")
        path, content_type, body = receiver.calls_for(payment.id)[0]
        self.assertEqual((path, content_type, body),
                         ("/webhooks/mollie", "application/x-www-form-urlencoded", f"id={payment.id}"))
        paid = client().payments.get(payment.id)
        self.assertTrue(paid.is_paid())
        self.assertEqual(paid.status, "paid")
        self.assertEqual(paid.method, "ideal")
        mollie_time(paid.paid_at)
        self.assertNotIn("checkout", paid["_links"])
        self.assertIsNone(paid.expires_at)
        self.assertEqual(paid.amount_refunded, {"currency": "EUR", "value": "0.00"})
        self.assertEqual(paid.amount_remaining, {"currency": "EUR", "value": "24.95"})
        self.assertTrue(paid.can_be_refunded())
        again = urllib.request.Request(f"{api}/checkout/{payment.id}", data=b"outcome=failed", method="POST")
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(again, timeout=5)
        self.assertEqual(refused.exception.code, 409, "a paid payment does not fail afterwards")

    def test_each_checkout_outcome_sets_its_status_and_timestamp(self) -> None:
        for outcome, stamp, webhook in [("failed", "failedAt", True), ("canceled", "canceledAt", True),
                                        ("expired", "expiredAt", True), ("pending", None, False),
                                        ("open", None, False)]:
            with self.subTest(outcome=outcome):
                payment = new_payment(description=f"Outcome {outcome}")
                self.assertEqual(checkout(payment.checkout_url, outcome), (303, payment.redirect_url))
                after = client().payments.get(payment.id)
                self.assertEqual(after.status, outcome)
                if stamp:
                    mollie_time(after[stamp])
                    wait_for(lambda: receiver.bodies_for(payment.id), f"the {outcome} webhook")
                else:
                    time.sleep(0.3)  # would a webhook come? (none is sent for open and pending)
                    self.assertEqual(receiver.bodies_for(payment.id), [])

    def test_a_pay_later_payment_is_authorized_then_cancelable(self) -> None:
        payment = new_payment(method="klarna")
        self.assertEqual(checkout(payment.checkout_url, "authorized"), (303, payment.redirect_url))
        authorized = client().payments.get(payment.id)
        self.assertTrue(authorized.is_authorized())
        mollie_time(authorized.authorized_at)
        self.assertTrue(authorized.is_cancelable)
        wait_for(lambda: receiver.bodies_for(payment.id), "the authorized webhook")

    def test_a_webhook_answered_with_a_500_is_retried_until_it_gets_a_200(self) -> None:
        payment = new_payment()
        receiver.failures[payment.id] = 2
        checkout(payment.checkout_url, "paid")
        wait_for(lambda: len(receiver.bodies_for(payment.id)) == 3, "three webhook calls")
        deliveries = sim_json(f"/_sim/webhooks?paymentId={payment.id}")["deliveries"]
        self.assertEqual([(d["attempt"], d["status"]) for d in deliveries], [(1, 500), (2, 500), (3, 200)])
        time.sleep(0.5)
        self.assertEqual(len(receiver.bodies_for(payment.id)), 3, "no call after the 200")

    def test_a_webhook_that_never_answers_200_is_tried_once_plus_the_retries(self) -> None:
        payment = new_payment()
        receiver.failures[payment.id] = 100
        checkout(payment.checkout_url, "paid")
        wait_for(lambda: len(receiver.bodies_for(payment.id)) == 4, "four webhook calls")
        time.sleep(0.8)  # the next retry would come after 400 ms
        self.assertEqual(len(receiver.bodies_for(payment.id)), 4, "--webhook-retries 3: four calls in all")

    def test_a_form_encoded_create_works_as_at_mollie(self) -> None:
        body = urllib.parse.urlencode({"amount[currency]": "JPY", "amount[value]": "1500",
                                       "description": "Form", "redirectUrl": "https://shop.example/r",
                                       "metadata[order_id]": "7"}).encode()
        request = urllib.request.Request(f"{api}/v2/payments", data=body, method="POST", headers={
            "Authorization": f"Bearer {KEY}", "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=5) as response:
            self.assertEqual(response.status, 201)
            self.assertEqual(response.headers["Content-Type"], "application/hal+json")
            created = json.loads(response.read())
        fetched = client().payments.get(created["id"])
        self.assertEqual(fetched.amount, {"currency": "JPY", "value": "1500"})
        self.assertEqual(fetched.metadata, {"order_id": "7"})


class Refunds(unittest.TestCase):
    def paid(self, value: str = "50.00", currency: str = "EUR"):
        payment = new_payment(amount={"currency": currency, "value": value})
        checkout(payment.checkout_url, "paid")
        wait_for(lambda: receiver.bodies_for(payment.id), "the paid webhook")
        return client().payments.get(payment.id)

    def test_a_partial_then_a_full_refund_bring_the_remaining_amount_to_zero(self) -> None:
        payment = self.paid("50.00")
        partial = payment.refunds.create({"amount": {"currency": "EUR", "value": "20.00"},
                                          "description": "One item back", "metadata": {"line": 2}})
        self.assertRegex(partial.id, REFUND_ID)
        self.assertEqual((partial.resource, partial.status, partial.payment_id),
                         ("refund", "pending", payment.id))
        self.assertEqual(partial.amount, {"currency": "EUR", "value": "20.00"})
        self.assertEqual(partial.metadata, {"line": 2})
        mollie_time(partial.created_at)
        after_partial = client().payments.get(payment.id)
        self.assertEqual(after_partial.amount_refunded, {"currency": "EUR", "value": "20.00"})
        self.assertEqual(after_partial.amount_remaining, {"currency": "EUR", "value": "30.00"})
        self.assertTrue(after_partial.has_refunds())
        rest = after_partial.refunds.create({"amount": {"currency": "EUR", "value": "30.00"}})
        final = client().payments.get(payment.id)
        self.assertEqual(final.amount_remaining, {"currency": "EUR", "value": "0.00"})
        self.assertEqual(final.amount_refunded, {"currency": "EUR", "value": "50.00"})
        self.assertEqual([r.id for r in final.refunds.list()], [rest.id, partial.id])
        self.assertEqual(dict(final.refunds.get(partial.id)), dict(partial))
        with self.assertRaises(UnprocessableEntityError) as raised:
            final.refunds.create({"amount": {"currency": "EUR", "value": "0.01"}})
        self.assertEqual(raised.exception.field, "amount")

    def test_a_refund_larger_than_the_remaining_amount_is_refused(self) -> None:
        payment = self.paid("10.00")
        with self.assertRaises(UnprocessableEntityError) as raised:
            payment.refunds.create({"amount": {"currency": "EUR", "value": "10.01"}})
        self.assertEqual((raised.exception.status, raised.exception.field), (422, "amount"))
        self.assertEqual(len(client().payments.get(payment.id).refunds.list()), 0)

    def test_an_unpaid_payment_cannot_be_refunded(self) -> None:
        with self.assertRaises(UnprocessableEntityError):
            new_payment().refunds.create({"amount": {"currency": "EUR", "value": "1.00"}})

    def test_a_refund_status_change_calls_the_payments_webhook(self) -> None:
        payment = self.paid("12.00")
        refund = payment.refunds.create({"amount": {"currency": "EUR", "value": "12.00"}})
        before = len(receiver.bodies_for(payment.id))
        sim_json(f"/_sim/payments/{payment.id}/refunds/{refund.id}", {"status": "refunded"})
        wait_for(lambda: len(receiver.bodies_for(payment.id)) == before + 1, "the refund webhook")
        self.assertEqual(payment.refunds.get(refund.id).status, "refunded")

    def test_a_pending_refund_is_canceled_and_frees_the_amount(self) -> None:
        payment = self.paid("8.00")
        refund = payment.refunds.create({"amount": {"currency": "EUR", "value": "8.00"}})
        self.assertEqual(payment.refunds.delete(refund.id), {})
        self.assertEqual(payment.refunds.get(refund.id).status, "canceled")
        self.assertEqual(client().payments.get(payment.id).amount_remaining, {"currency": "EUR", "value": "8.00"})


class Errors(unittest.TestCase):
    def assert_invalid(self, field: str, **overrides: Any) -> UnprocessableEntityError:
        with self.assertRaises(UnprocessableEntityError) as raised:
            new_payment(**overrides)
        self.assertEqual((raised.exception.status, raised.exception.field), (422, field))
        return raised.exception

    def test_amounts_need_exactly_the_currencys_decimals(self) -> None:
        self.assert_invalid("amount.value", amount={"currency": "EUR", "value": "10"})
        self.assert_invalid("amount.value", amount={"currency": "EUR", "value": "10.5"})
        self.assert_invalid("amount.value", amount={"currency": "EUR", "value": "1,000.00"})
        self.assert_invalid("amount.value", amount={"currency": "EUR", "value": 10.0})
        self.assert_invalid("amount.value", amount={"currency": "JPY", "value": "1000.00"})
        self.assert_invalid("amount", amount={"currency": "EUR", "value": "0.00"})
        self.assert_invalid("amount", amount=None)
        self.assertEqual(new_payment(amount={"currency": "JPY", "value": "1000"}).amount["value"], "1000")
        self.assertEqual(new_payment(amount={"currency": "ISK", "value": "990"}).amount["value"], "990")

    def test_a_currency_mollie_does_not_take_is_refused(self) -> None:
        error = self.assert_invalid("amount.currency", amount={"currency": "KWD", "value": "10.000"})
        self.assertIn("KWD", str(error))
        self.assert_invalid("amount.currency", amount={"currency": "XXX", "value": "1.00"})

    def test_description_and_redirect_url_are_required_and_urls_checked(self) -> None:
        self.assert_invalid("description", description="")
        self.assert_invalid("redirectUrl", redirectUrl=None)
        self.assert_invalid("webhookUrl", webhookUrl="not a url")
        self.assert_invalid("method", method="cash")
        self.assert_invalid("locale", locale="xx_XX")

    def test_an_unknown_payment_is_not_found(self) -> None:
        with self.assertRaises(NotFoundError) as raised:
            client().payments.get("tr_doesnotexi")
        self.assertEqual(raised.exception.status, 404)
        self.assertIn("tr_doesnotexi", str(raised.exception))

    def test_an_unknown_key_is_unauthorized(self) -> None:
        with self.assertRaises(UnauthorizedError) as raised:
            client(UNKNOWN_KEY).payments.list()
        self.assertEqual(raised.exception.status, 401)

    def test_each_key_is_its_own_account(self) -> None:
        mine = new_payment()
        with self.assertRaises(NotFoundError):
            client(OTHER_KEY).payments.get(mine.id)
        self.assertNotIn(mine.id, [p.id for p in client(OTHER_KEY).payments.list(limit=250)])

    def test_a_live_key_makes_live_payments(self) -> None:
        sim_json("/_sim/keys", {"key": LIVE_KEY})
        self.assertEqual(new_payment(client(LIVE_KEY)).mode, "live")

    def test_the_same_idempotency_key_replays_and_another_body_is_refused(self) -> None:
        mollie = client()
        data = {"amount": {"currency": "EUR", "value": "5.00"}, "description": "Idempotent",
                "redirectUrl": "https://shop.example/r"}
        first = mollie.payments.create(data, idempotency_key="order-77-payment-1")
        with self.assertLogs(level="WARNING") as logs:  # the client noticed Idempotent-Replayed
            again = mollie.payments.create(data, idempotency_key="order-77-payment-1")
        self.assertEqual(again.id, first.id)
        self.assertIn("Idempotent-Replayed", logs.output[0])
        with self.assertRaises(UnprocessableEntityError):
            mollie.payments.create(data | {"description": "Changed"}, idempotency_key="order-77-payment-1")
        other_account = client(OTHER_KEY).payments.create(data, idempotency_key="order-77-payment-1")
        self.assertNotEqual(other_account.id, first.id, "keys are per account")

    def test_an_injected_fault_answers_like_mollie_and_clears(self) -> None:
        payment = new_payment()
        sim_json("/_sim/faults", {"status": 503, "count": 1})
        from mollie.api.error import ResponseError
        with self.assertRaises(ResponseError) as raised:
            client().payments.get(payment.id)
        self.assertEqual(raised.exception.status, 503)
        self.assertTrue(client().payments.get(payment.id).is_open())


if __name__ == "__main__":
    unittest.main(verbosity=2)
