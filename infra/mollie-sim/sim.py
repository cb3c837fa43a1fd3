"""Kassa's Mollie simulator: the documented subset of Mollie's Payments and Refunds API (v2)
that Kassa uses, written from Mollie's API reference, with a hosted checkout page where a
person or a test picks the outcome, and webhooks retried like Mollie retries them.

    sim.py serve --port 9012 --key test_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx

Point a Mollie client at http://127.0.0.1:9012 (the API is under /v2). Everything is kept in
memory; each API key is its own account. See infra/mollie-sim/README.md for what is covered,
and the /_sim/ endpoints tests use.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import http.client
import json
import re
import secrets
import signal
import string
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

# Mollie's payment currencies and their decimal places (docs.mollie.com, "Multicurrency").
# Currencies Mollie dropped (HRK, RUB, BGN) and ISO currencies Mollie does not take (KWD, …)
# are refused with a 422, as Mollie does. `--currency CODE:DECIMALS` adds one for a test.
MOLLIE_CURRENCIES: dict[str, int] = {
    "AED": 2, "AUD": 2, "BRL": 2, "CAD": 2, "CHF": 2, "CZK": 2, "DKK": 2, "EUR": 2, "GBP": 2,
    "HKD": 2, "HUF": 2, "ILS": 2, "ISK": 0, "JPY": 0, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2,
    "PHP": 2, "PLN": 2, "RON": 2, "SEK": 2, "SGD": 2, "THB": 2, "TWD": 2, "USD": 2, "ZAR": 2,
}

# The `method` values Mollie's Create payment accepts.
METHODS = {
    "alma", "applepay", "bacs", "bancomatpay", "bancontact", "banktransfer", "belfius", "billie",
    "blik", "creditcard", "directdebit", "eps", "giftcard", "googlepay", "ideal", "in3", "kbc",
    "klarna", "klarnapaylater", "klarnapaynow", "klarnasliceit", "mbway", "multibanco", "mybank",
    "paybybank", "payconiq", "paypal", "paysafecard", "przelewy24", "riverty", "satispay",
    "swish", "trustly", "twint", "voucher",
}
# Pay-later methods end in `authorized` (captured later) rather than `paid`.
AUTHORIZING_METHODS = {"billie", "klarna", "klarnapaylater", "klarnapaynow", "klarnasliceit", "riverty"}
# An `open` payment is cancelable only for methods whose payment the customer completes later.
CANCELABLE_OPEN_METHODS = {"banktransfer", "directdebit"}

LOCALES = {
    "en_US", "en_GB", "nl_NL", "nl_BE", "de_DE", "de_AT", "de_CH", "fr_FR", "fr_BE", "es_ES",
    "ca_ES", "pt_PT", "it_IT", "nb_NO", "sv_SE", "fi_FI", "da_DK", "is_IS", "hu_HU", "pl_PL",
    "lv_LV", "lt_LT",
}

# Statuses a payment's webhook is called for (docs.mollie.com, "Webhooks"); open and pending
# are not among them. Refunds call the payment's webhook on these refund statuses.
WEBHOOK_PAYMENT_STATUSES = {"paid", "authorized", "canceled", "expired", "failed"}
WEBHOOK_REFUND_STATUSES = {"processing", "refunded", "failed"}
REFUND_STATUSES = {"queued", "pending", "processing", "refunded", "failed", "canceled"}
# What the checkout page offers, and from which status.
CHECKOUT_OUTCOMES = ("paid", "authorized", "failed", "canceled", "expired", "pending", "open")

KEY_PATTERN = re.compile(r"^(test|live)_[A-Za-z0-9]{30,}$")
ID_ALPHABET = string.ascii_letters + string.digits
DOCS = "https://docs.mollie.com"
MAX_LIST_LIMIT = 250
DEFAULT_LIST_LIMIT = 50
METADATA_MAX_BYTES = 1024


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def timestamp(moment: Optional[datetime]) -> Optional[str]:
    """Mollie's format: 2018-03-12T10:56:15+00:00."""
    return moment.isoformat() if moment else None


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(ID_ALPHABET) for _ in range(10))


def link(href: str, kind: str = "application/hal+json") -> dict[str, str]:
    return {"href": href, "type": kind}


class ApiError(Exception):
    """An error answered as Mollie does: application/hal+json {status, title, detail, field?}."""

    TITLES = {
        400: "Bad Request", 401: "Unauthorized Request", 404: "Not Found",
        405: "Method Not Allowed", 409: "Conflict", 415: "Unsupported Media Type",
        422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
        502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
    }

    def __init__(self, status: int, detail: str, field_name: Optional[str] = None,
                 docs: str = DOCS + "/overview/handling-errors"):
        super().__init__(detail)
        self.status, self.detail, self.field, self.docs = status, detail, field_name, docs

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": self.status,
            "title": self.TITLES.get(self.status, "Error"),
            "detail": self.detail,
        }
        if self.field:
            body["field"] = self.field
        body["_links"] = {"documentation": link(self.docs, "text/html")}
        return body


def unauthorized() -> ApiError:
    return ApiError(401, "Missing authentication, or failed to authenticate",
                    docs=DOCS + "/overview/authentication")


# --- money -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Money:
    currency: str
    minor: int  # integer minor units

    def decimals(self, currencies: dict[str, int]) -> int:
        return currencies[self.currency]

    def value(self, currencies: dict[str, int]) -> str:
        places = currencies[self.currency]
        sign = "-" if self.minor < 0 else ""
        units, cents = divmod(abs(self.minor), 10 ** places)
        return f"{sign}{units}.{cents:0{places}d}" if places else f"{sign}{units}"

    def json(self, currencies: dict[str, int]) -> dict[str, str]:
        return {"currency": self.currency, "value": self.value(currencies)}


def parse_amount(raw: Any, currencies: dict[str, int], name: str = "amount") -> Money:
    """An amount object as Mollie takes it: {currency, value}, value a string with exactly the
    currency's decimals ("10.00", "1000" for JPY), no thousands separator, positive."""
    if raw is None or raw == "":
        raise ApiError(422, f"The {name} is required", name)
    if not isinstance(raw, dict):
        raise ApiError(422, f"The {name} must be an object with a currency and a value", name)
    currency, value = raw.get("currency"), raw.get("value")
    if not isinstance(currency, str) or not currency:
        raise ApiError(422, f"The {name} currency is required", f"{name}.currency")
    if currency not in currencies:
        raise ApiError(422, f"The currency '{currency}' is not supported", f"{name}.currency")
    if not isinstance(value, str):
        raise ApiError(422, f"The {name} value must be a string, e.g. \"10.00\"", f"{name}.value")
    places = currencies[currency]
    pattern = r"^\d+\.\d{%d}$" % places if places else r"^\d+$"
    if not re.match(pattern, value):
        example = "1" + ("." + "0" * places if places else "000")
        raise ApiError(422, f"The {name} value '{value}' is invalid: {currency} amounts take exactly "
                            f"{places} decimals, e.g. \"{example}\"", f"{name}.value")
    minor = int(value.replace(".", ""))
    if minor <= 0:
        raise ApiError(422, f"The {name} is lower than the minimum", name)
    return Money(currency, minor)


# --- the resources -------------------------------------------------------------------------


@dataclass
class Refund:
    id: str
    payment_id: str
    amount: Money
    description: str
    metadata: Any
    status: str
    created_at: datetime

    def json(self, base: str, mode: str, currencies: dict[str, int]) -> dict[str, Any]:
        payment_href = f"{base}/v2/payments/{self.payment_id}"
        return {
            "resource": "refund",
            "id": self.id,
            "mode": mode,
            "amount": self.amount.json(currencies),
            "status": self.status,
            "createdAt": timestamp(self.created_at),
            "description": self.description,
            "metadata": self.metadata,
            "paymentId": self.payment_id,
            "_links": {
                "self": link(f"{payment_href}/refunds/{self.id}"),
                "payment": link(payment_href),
                "documentation": link(DOCS + "/reference/get-refund", "text/html"),
            },
        }


@dataclass
class Payment:
    id: str
    api_key: str
    amount: Money
    description: str
    redirect_url: Optional[str]
    cancel_url: Optional[str]
    webhook_url: Optional[str]
    method: Optional[str]
    metadata: Any
    locale: Optional[str]
    created_at: datetime
    expires_at: datetime
    status: str = "open"
    paid_at: Optional[datetime] = None
    authorized_at: Optional[datetime] = None
    canceled_at: Optional[datetime] = None
    expired_at: Optional[datetime] = None
    failed_at: Optional[datetime] = None
    refunds: list[Refund] = field(default_factory=list)

    @property
    def mode(self) -> str:
        return "live" if self.api_key.startswith("live_") else "test"

    @property
    def is_cancelable(self) -> bool:
        if self.status == "authorized":
            return True
        return self.status == "open" and self.method in CANCELABLE_OPEN_METHODS

    def refunded_minor(self) -> int:
        return sum(r.amount.minor for r in self.refunds if r.status not in ("failed", "canceled"))

    def json(self, base: str, profile_id: str, currencies: dict[str, int],
             embed_refunds: bool = False) -> dict[str, Any]:
        href = f"{base}/v2/payments/{self.id}"
        body: dict[str, Any] = {
            "resource": "payment",
            "id": self.id,
            "mode": self.mode,
            "createdAt": timestamp(self.created_at),
            "amount": self.amount.json(currencies),
            "description": self.description,
            "method": self.method,
            "metadata": self.metadata,
            "status": self.status,
            "isCancelable": self.is_cancelable,
        }
        if self.status in ("open", "pending"):
            body["expiresAt"] = timestamp(self.expires_at)
        for name, moment in (("paidAt", self.paid_at), ("authorizedAt", self.authorized_at),
                             ("canceledAt", self.canceled_at), ("expiredAt", self.expired_at),
                             ("failedAt", self.failed_at)):
            if moment:
                body[name] = timestamp(moment)
        if self.status == "paid":
            # Mollie shows these once the payment can be refunded.
            refunded = self.refunded_minor()
            body["amountRefunded"] = Money(self.amount.currency, refunded).json(currencies)
            body["amountRemaining"] = Money(self.amount.currency, self.amount.minor - refunded).json(currencies)
        if self.locale:
            body["locale"] = self.locale
        body["profileId"] = profile_id
        body["sequenceType"] = "oneoff"
        body["redirectUrl"] = self.redirect_url
        if self.cancel_url:
            body["cancelUrl"] = self.cancel_url
        if self.webhook_url:
            body["webhookUrl"] = self.webhook_url
        body["details"] = None
        links: dict[str, Any] = {"self": link(href)}
        if self.status == "open":
            links["checkout"] = link(f"{base}/checkout/{self.id}", "text/html")
        links["dashboard"] = link(f"{base}/dashboard/payments/{self.id}", "text/html")
        if self.refunds:
            links["refunds"] = link(f"{href}/refunds")
        links["documentation"] = link(DOCS + "/reference/get-payment", "text/html")
        body["_links"] = links
        if embed_refunds:
            mode = self.mode
            body["_embedded"] = {"refunds": [r.json(base, mode, currencies) for r in self.refunds]}
        return body


@dataclass
class Account:
    """One API key: its payments (oldest first) and the responses of its idempotent calls."""

    key: str
    profile_id: str
    payments: dict[str, Payment] = field(default_factory=dict)
    idempotent: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)


@dataclass
class Delivery:
    payment_id: str
    url: str
    attempt: int
    status: Optional[int]
    error: Optional[str]
    at: datetime

    def json(self) -> dict[str, Any]:
        return {"paymentId": self.payment_id, "url": self.url, "attempt": self.attempt,
                "status": self.status, "error": self.error, "at": timestamp(self.at.replace(microsecond=0)),
                # When the receiver's answer arrived, to the millisecond (make bench times webhooks).
                "atMs": round(self.at.timestamp() * 1000, 3)}


@dataclass
class Settings:
    webhook_retries: int = 5
    webhook_backoff_ms: int = 200
    webhook_timeout_s: float = 5.0
    expiry_seconds: int = 15 * 60
    public_url: Optional[str] = None
    currencies: dict[str, int] = field(default_factory=lambda: dict(MOLLIE_CURRENCIES))


# --- the store ---------------------------------------------------------------------------------


class Store:
    """All state, behind one lock. Webhooks are sent by the Notifier outside the lock."""

    def __init__(self, settings: Settings, notify: Callable[[Payment], None]):
        self.settings = settings
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.owner: dict[str, str] = {}  # payment id -> API key, for the unauthenticated checkout
        self.deliveries: list[Delivery] = []
        self.faults: list[int] = []  # statuses the next API calls answer with
        self.notify = notify

    # keys and faults (the /_sim/ endpoints)

    def add_key(self, key: str) -> Account:
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise ApiError(422, "An API key is test_ or live_ and at least 30 letters or digits", "key")
        with self.lock:
            if key not in self.accounts:
                profile = "pfl_" + hashlib.sha256(key.encode()).hexdigest()[:10]
                self.accounts[key] = Account(key, profile)
            return self.accounts[key]

    def account(self, authorization: Optional[str]) -> Account:
        if not authorization or not authorization.startswith("Bearer "):
            raise unauthorized()
        key = authorization[len("Bearer "):].strip()
        with self.lock:
            account = self.accounts.get(key)
        if account is None:
            raise unauthorized()
        return account

    def take_fault(self) -> Optional[int]:
        with self.lock:
            return self.faults.pop(0) if self.faults else None

    # payments

    def create_payment(self, account: Account, body: dict[str, Any]) -> Payment:
        currencies = self.settings.currencies
        amount = parse_amount(body.get("amount"), currencies)
        description = body.get("description")
        if not isinstance(description, str) or not description.strip():
            raise ApiError(422, "The description is required", "description")
        redirect_url = optional_url(body, "redirectUrl", "redirect URL")
        if redirect_url is None:
            raise ApiError(422, "The redirect URL is required for a one-off payment", "redirectUrl")
        cancel_url = optional_url(body, "cancelUrl", "cancel URL")
        webhook_url = optional_url(body, "webhookUrl", "webhook URL")
        method = body.get("method")
        if isinstance(method, list):  # a list of methods to offer: the customer picks one later
            if not method or any(m not in METHODS for m in method):
                raise ApiError(422, "The payment method is invalid", "method")
            method = method[0] if len(method) == 1 else None
        elif method is not None and method not in METHODS:
            raise ApiError(422, "The payment method is invalid", "method")
        locale = body.get("locale")
        if locale is not None and locale not in LOCALES:
            raise ApiError(422, "The locale is invalid", "locale")
        metadata = body.get("metadata")
        if len(json.dumps(metadata).encode()) > METADATA_MAX_BYTES:
            raise ApiError(422, "The metadata is too large: at most 1024 bytes of JSON", "metadata")
        created = now()
        payment = Payment(
            id=new_id("tr_"), api_key=account.key, amount=amount, description=description[:255],
            redirect_url=redirect_url, cancel_url=cancel_url, webhook_url=webhook_url,
            method=method, metadata=metadata, locale=locale, created_at=created,
            expires_at=created + timedelta(seconds=self.settings.expiry_seconds),
        )
        with self.lock:
            account.payments[payment.id] = payment
            self.owner[payment.id] = account.key
        return payment

    def payment(self, account: Account, payment_id: str) -> Payment:
        with self.lock:
            payment = account.payments.get(payment_id)
        if payment is None:
            raise ApiError(404, f"No payment exists with token {payment_id}.",
                           docs=DOCS + "/reference/get-payment")
        self.expire_if_due(payment)
        return payment

    def payment_for_checkout(self, payment_id: str) -> Optional[Payment]:
        with self.lock:
            key = self.owner.get(payment_id)
            payment = self.accounts[key].payments.get(payment_id) if key else None
        if payment:
            self.expire_if_due(payment)
        return payment

    def expire_if_due(self, payment: Payment) -> None:
        with self.lock:
            due = payment.status in ("open", "pending") and now() >= payment.expires_at
            if due:
                self.set_status(payment, "expired")
        if due:
            self.notify(payment)

    def expire_all_due(self) -> None:
        with self.lock:
            payments = [p for a in self.accounts.values() for p in a.payments.values()]
        for payment in payments:
            self.expire_if_due(payment)

    def set_status(self, payment: Payment, status: str, method: Optional[str] = None) -> None:
        """Moves the payment to `status` with its timestamp (caller holds the lock)."""
        moment = now()
        payment.status = status
        if status in ("paid", "authorized", "failed") and payment.method is None:
            payment.method = method or ("klarna" if status == "authorized" else "ideal")
        if status == "paid":
            payment.paid_at = moment
        elif status == "authorized":
            payment.authorized_at = moment
        elif status == "canceled":
            payment.canceled_at = moment
        elif status == "expired":
            payment.expired_at = moment
        elif status == "failed":
            payment.failed_at = moment

    def cancel(self, account: Account, payment_id: str) -> Payment:
        payment = self.payment(account, payment_id)
        with self.lock:
            if not payment.is_cancelable:
                raise ApiError(422, f"The payment cannot be canceled (status {payment.status}, "
                                    f"isCancelable false)", docs=DOCS + "/reference/cancel-payment")
            self.set_status(payment, "canceled")
        self.notify(payment)
        return payment

    def checkout(self, payment: Payment, outcome: str, method: Optional[str]) -> None:
        """What the hosted checkout's form does. Raises ValueError when not allowed."""
        with self.lock:
            if outcome not in allowed_outcomes(payment):
                raise ValueError(f"payment {payment.id} is {payment.status}: "
                                 f"'{outcome}' is not possible now")
            if method is not None and method not in METHODS:
                raise ValueError(f"unknown method '{method}'")
            chosen = payment.method or method
            if outcome == "authorized" and chosen is not None and chosen not in AUTHORIZING_METHODS:
                raise ValueError(f"only pay-later methods are authorized, not {chosen}")
            if outcome == "open":
                return
            self.set_status(payment, outcome, method)
        if outcome in WEBHOOK_PAYMENT_STATUSES:
            self.notify(payment)

    # refunds

    def create_refund(self, account: Account, payment_id: str, body: dict[str, Any]) -> Refund:
        payment = self.payment(account, payment_id)
        currencies = self.settings.currencies
        amount = parse_amount(body.get("amount"), currencies)
        description = body.get("description", "")
        if not isinstance(description, str) or len(description) > 255:
            raise ApiError(422, "The description must be a string of at most 255 characters", "description")
        metadata = body.get("metadata")
        if len(json.dumps(metadata).encode()) > METADATA_MAX_BYTES:
            raise ApiError(422, "The metadata is too large: at most 1024 bytes of JSON", "metadata")
        with self.lock:
            if payment.status != "paid":
                raise ApiError(422, f"The payment cannot be refunded: it is {payment.status}",
                               docs=DOCS + "/reference/create-refund")
            if amount.currency != payment.amount.currency:
                raise ApiError(422, f"The refund currency must be the payment's ({payment.amount.currency})",
                               "amount.currency")
            remaining = payment.amount.minor - payment.refunded_minor()
            if amount.minor > remaining:
                left = Money(payment.amount.currency, remaining).value(currencies)
                raise ApiError(422, f"The amount is higher than the remaining amount of the payment "
                                    f"({payment.amount.currency} {left})", "amount")
            refund = Refund(id=new_id("re_"), payment_id=payment.id, amount=amount,
                            description=description, metadata=metadata, status="pending",
                            created_at=now())
            payment.refunds.append(refund)
        return refund

    def refund(self, account: Account, payment_id: str, refund_id: str) -> tuple[Payment, Refund]:
        payment = self.payment(account, payment_id)
        with self.lock:
            found = next((r for r in payment.refunds if r.id == refund_id), None)
        if found is None:
            raise ApiError(404, f"No refund exists with token {refund_id}.", docs=DOCS + "/reference/get-refund")
        return payment, found

    def cancel_refund(self, account: Account, payment_id: str, refund_id: str) -> None:
        _, refund = self.refund(account, payment_id, refund_id)
        with self.lock:
            if refund.status not in ("queued", "pending"):
                raise ApiError(422, f"The refund cannot be canceled: it is {refund.status}",
                               docs=DOCS + "/reference/cancel-refund")
            refund.status = "canceled"

    def set_refund_status(self, payment_id: str, refund_id: str, status: str) -> Refund:
        if status not in REFUND_STATUSES:
            raise ApiError(422, f"Unknown refund status '{status}'", "status")
        with self.lock:
            key = self.owner.get(payment_id)
        if key is None:
            raise ApiError(404, f"No payment exists with token {payment_id}.")
        payment, refund = self.refund(self.accounts[key], payment_id, refund_id)
        with self.lock:
            changed = refund.status != status
            refund.status = status
        if changed and status in WEBHOOK_REFUND_STATUSES:
            self.notify(payment)
        return refund

    def record(self, delivery: Delivery) -> None:
        with self.lock:
            self.deliveries.append(delivery)


def allowed_outcomes(payment: Payment) -> list[str]:
    if payment.status == "open":
        outcomes = ["paid", "failed", "canceled", "expired", "pending", "open"]
        if payment.method is None or payment.method in AUTHORIZING_METHODS:
            outcomes.insert(1, "authorized")
        if payment.method in AUTHORIZING_METHODS:
            outcomes.remove("paid")  # pay-later payments are authorized, then captured
        return outcomes
    if payment.status == "pending":
        return ["paid", "failed", "canceled", "expired"]
    return []


def optional_url(body: dict[str, Any], name: str, label: str) -> Optional[str]:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ApiError(422, f"The {label} is invalid", name)
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ApiError(422, f"The {label} is invalid", name)
    return value


# --- webhooks -------------------------------------------------------------------------------


class Notifier:
    """Calls a payment's webhookUrl with `id=tr_…` (form-encoded, nothing else) in the
    background; anything but a 200 is retried, doubling the wait, like Mollie (which retries
    10 times over 26 hours; here the schedule is short and configurable)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.store: Optional[Store] = None

    def __call__(self, payment: Payment) -> None:
        if payment.webhook_url:
            threading.Thread(target=self.deliver, args=(payment.id, payment.webhook_url), daemon=True).start()

    def deliver(self, payment_id: str, url: str) -> None:
        assert self.store is not None
        wait_ms = self.settings.webhook_backoff_ms
        for attempt in range(1, self.settings.webhook_retries + 2):
            status, error = self.post(url, payment_id)
            self.store.record(Delivery(payment_id, url, attempt, status, error, datetime.now(timezone.utc)))
            if status == 200:
                return
            if attempt <= self.settings.webhook_retries:
                time.sleep(wait_ms / 1000)
                wait_ms *= 2

    def post(self, url: str, payment_id: str) -> tuple[Optional[int], Optional[str]]:
        parts = urllib.parse.urlsplit(url)
        connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = urllib.parse.urlencode({"id": payment_id})
        try:
            connection = connection_type(parts.hostname, parts.port, timeout=self.settings.webhook_timeout_s)
            try:  # redirects are not followed: a 3xx counts as a failure
                connection.request("POST", path, body=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "*/*",
                    "User-Agent": "Mollie.nl HTTP client/1.0 (kassa mollie-sim)",
                })
                response = connection.getresponse()
                response.read()
                return response.status, None
            finally:
                connection.close()
        except (OSError, http.client.HTTPException) as err:
            return None, f"{type(err).__name__}: {err}"


# --- request bodies -----------------------------------------------------------------------


def parse_form(raw: str) -> dict[str, Any]:
    """Form fields as Mollie takes them, brackets nesting: amount[currency]=EUR&amount[value]=10.00."""
    result: dict[str, Any] = {}
    for name, value in urllib.parse.parse_qsl(raw, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+|\[\]", name)
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ApiError(400, f"The form field '{name}' is malformed")
        last = parts[-1] if parts else name
        if last == "[]":
            raise ApiError(400, f"The form field '{name}' is not supported")
        target[last] = value
    return result


# --- HTTP ---------------------------------------------------------------------------------------


ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern), handler)
    for method, pattern, handler in [
        ("POST", r"^/v2/payments$", "create_payment"),
        ("GET", r"^/v2/payments$", "list_payments"),
        ("GET", r"^/v2/payments/(?P<pid>[^/]+)$", "get_payment"),
        ("DELETE", r"^/v2/payments/(?P<pid>[^/]+)$", "cancel_payment"),
        ("POST", r"^/v2/payments/(?P<pid>[^/]+)/refunds$", "create_refund"),
        ("GET", r"^/v2/payments/(?P<pid>[^/]+)/refunds$", "list_refunds"),
        ("GET", r"^/v2/payments/(?P<pid>[^/]+)/refunds/(?P<rid>[^/]+)$", "get_refund"),
        ("DELETE", r"^/v2/payments/(?P<pid>[^/]+)/refunds/(?P<rid>[^/]+)$", "cancel_refund"),
        ("GET", r"^/checkout/(?P<pid>[^/]+)$", "checkout_page"),
        ("POST", r"^/checkout/(?P<pid>[^/]+)$", "checkout_submit"),
        ("GET", r"^/dashboard/payments/(?P<pid>[^/]+)$", "dashboard"),
        ("POST", r"^/_sim/keys$", "sim_add_key"),
        ("GET", r"^/_sim/webhooks$", "sim_webhooks"),
        ("POST", r"^/_sim/faults$", "sim_faults"),
        ("POST", r"^/_sim/payments/(?P<pid>[^/]+)/refunds/(?P<rid>[^/]+)$", "sim_refund_status"),
        ("GET", r"^/_sim/health$", "sim_health"),
    ]
]
IDEMPOTENT_HANDLERS = {"create_payment", "cancel_payment", "create_refund", "cancel_refund"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mollie-sim"
    store: Store  # set on the subclass serve() makes

    # plumbing

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def do_PATCH(self) -> None:
        self.dispatch("PATCH")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        sys.stderr.write(f"{self.log_date_time_string()} {format % args}\n")

    @property
    def base(self) -> str:
        if self.store.settings.public_url:
            return self.store.settings.public_url.rstrip("/")
        return f"http://{self.headers.get('Host') or '127.0.0.1'}"

    def dispatch(self, method: str) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        self.raw_body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            path_matched = False
            for route_method, pattern, name in ROUTES:
                match = pattern.match(parsed.path)
                if not match:
                    continue
                path_matched = True
                if route_method == method:
                    getattr(self, name)(**match.groupdict())
                    return
            if path_matched:
                raise ApiError(405, f"The method {method} is not available on this resource")
            raise ApiError(404, "The resource could not be found")
        except ApiError as err:
            self.send_json(err.status, err.body())

    def send_json(self, status: int, body: Optional[dict[str, Any]], extra: Optional[dict[str, str]] = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/hal+json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def send_html(self, status: int, page: str, location: Optional[str] = None) -> None:
        data = page.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(data)

    def body(self) -> dict[str, Any]:
        if not self.raw_body:
            return {}
        kind = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        text = self.raw_body.decode("utf-8", errors="replace")
        if kind == "application/x-www-form-urlencoded":
            return parse_form(text)
        if kind in ("application/json", "application/hal+json", "text/plain", ""):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                raise ApiError(400, "The request body is not valid JSON")
            if not isinstance(parsed, dict):
                raise ApiError(400, "The request body must be a JSON object")
            return parsed
        raise ApiError(415, f"The content type {kind} is not supported: send JSON or a form")

    def authenticated(self) -> Account:
        account = self.store.account(self.headers.get("Authorization"))
        fault = self.store.take_fault()
        if fault is not None:
            raise ApiError(fault, "A fault injected through /_sim/faults")
        return account

    def idempotent(self, name: str, account: Account, run: Callable[[], tuple[int, Optional[dict[str, Any]]]]) -> None:
        """Runs `run` once per Idempotency-Key of this account: the same key with the same
        request replays the first success (Idempotent-Replayed: true); with another request it
        is a 422. Errors are not kept, so a corrected retry may reuse the key."""
        key = self.headers.get("Idempotency-Key")
        if not key:
            status, body = run()
            self.send_json(status, body)
            return
        fingerprint = json.dumps([self.command, urllib.parse.urlsplit(self.path).path, self.body()], sort_keys=True)
        with self.store.lock:  # one at a time per store: a concurrent duplicate waits, then replays
            kept = account.idempotent.get(key)
            if kept is None:
                status, body = run()
                account.idempotent[key] = (fingerprint, status, body or {})
                replayed = False
            elif kept[0] != fingerprint:
                raise ApiError(422, "The Idempotency-Key was already used for a different request",
                               docs=DOCS + "/reference/api-idempotency")
            else:
                _, status, body = kept
                replayed = True
        self.send_json(status, body if status != 204 else None,
                       {"Idempotent-Replayed": "true"} if replayed else None)

    # the API

    def create_payment(self) -> None:
        account = self.authenticated()
        body = self.body()

        def run() -> tuple[int, dict[str, Any]]:
            payment = self.store.create_payment(account, body)
            return 201, self.payment_json(account, payment)

        self.idempotent("create_payment", account, run)

    def payment_json(self, account: Account, payment: Payment, embed_refunds: bool = False) -> dict[str, Any]:
        with self.store.lock:
            return payment.json(self.base, account.profile_id, self.store.settings.currencies, embed_refunds)

    def get_payment(self, pid: str) -> None:
        account = self.authenticated()
        payment = self.store.payment(account, pid)
        embeds = self.query.get("embed", "").split(",")
        self.send_json(200, self.payment_json(account, payment, "refunds" in embeds))

    def cancel_payment(self, pid: str) -> None:
        account = self.authenticated()
        self.idempotent("cancel_payment", account,
                        lambda: (200, self.payment_json(account, self.store.cancel(account, pid))))

    def list_payments(self) -> None:
        account = self.authenticated()
        with self.store.lock:
            payments = list(account.payments.values())
        for payment in payments:
            self.store.expire_if_due(payment)
        items = [self.payment_json(account, p) for p in payments]
        self.send_json(200, self.page(items, "payments", f"{self.base}/v2/payments",
                                      DOCS + "/reference/list-payments"))

    def create_refund(self, pid: str) -> None:
        account = self.authenticated()
        body = self.body()

        def run() -> tuple[int, dict[str, Any]]:
            refund = self.store.create_refund(account, pid, body)
            return 201, self.refund_json(account, refund)

        self.idempotent("create_refund", account, run)

    def refund_json(self, account: Account, refund: Refund) -> dict[str, Any]:
        mode = "live" if account.key.startswith("live_") else "test"
        with self.store.lock:
            return refund.json(self.base, mode, self.store.settings.currencies)

    def list_refunds(self, pid: str) -> None:
        account = self.authenticated()
        payment = self.store.payment(account, pid)
        with self.store.lock:
            refunds = list(payment.refunds)
        items = [self.refund_json(account, r) for r in refunds]
        self.send_json(200, self.page(items, "refunds", f"{self.base}/v2/payments/{pid}/refunds",
                                      DOCS + "/reference/list-refunds"))

    def get_refund(self, pid: str, rid: str) -> None:
        account = self.authenticated()
        _, refund = self.store.refund(account, pid, rid)
        self.send_json(200, self.refund_json(account, refund))

    def cancel_refund(self, pid: str, rid: str) -> None:
        account = self.authenticated()

        def run() -> tuple[int, None]:
            self.store.cancel_refund(account, pid, rid)
            return 204, None

        self.idempotent("cancel_refund", account, run)

    def page(self, items: list[dict[str, Any]], name: str, href: str, docs: str) -> dict[str, Any]:
        """Mollie's cursor pagination: newest first (sort=asc for oldest first), `from` an id
        to start at, `limit` 1–250 (default 50); _links.previous/next are null at the ends."""
        raw_limit = self.query.get("limit", str(DEFAULT_LIST_LIMIT))
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIST_LIMIT:
            raise ApiError(400, f"The limit must be a number from 1 to {MAX_LIST_LIMIT}", "limit")
        limit = int(raw_limit)
        sort = self.query.get("sort", "desc")
        if sort not in ("asc", "desc"):
            raise ApiError(400, "The sort must be asc or desc", "sort")
        ordered = items if sort == "asc" else list(reversed(items))
        start = 0
        if "from" in self.query:
            ids = [item["id"] for item in ordered]
            if self.query["from"] not in ids:
                raise ApiError(400, f"The 'from' id {self.query['from']} is not in this list", "from")
            start = ids.index(self.query["from"])
        chunk = ordered[start:start + limit]

        def url(index: int) -> dict[str, str]:
            query = {"from": ordered[index]["id"], "limit": str(limit)}
            if sort == "asc":
                query["sort"] = "asc"
            return link(f"{href}?{urllib.parse.urlencode(query)}")

        self_query = urllib.parse.urlsplit(self.path).query
        return {
            "count": len(chunk),
            "_embedded": {name: chunk},
            "_links": {
                "self": link(href + (f"?{self_query}" if self_query else "")),
                "previous": url(max(0, start - limit)) if start > 0 else None,
                "next": url(start + limit) if start + limit < len(ordered) else None,
                "documentation": link(docs, "text/html"),
            },
        }

    # the hosted checkout (the customer's browser: no API key)

    def checkout_page(self, pid: str) -> None:
        payment = self.store.payment_for_checkout(pid)
        if payment is None:
            self.send_html(404, page("Unknown payment", f"<p>No payment {html.escape(pid)}.</p>"))
            return
        with self.store.lock:
            outcomes = allowed_outcomes(payment)
            amount = payment.amount.value(self.store.settings.currencies)
            summary = (f"<p><strong>{html.escape(payment.description)}</strong></p>"
                       f"<p>{html.escape(payment.amount.currency)} {html.escape(amount)} · {payment.mode} mode · "
                       f"<code>{payment.id}</code> · status <strong>{payment.status}</strong></p>")
            method = payment.method
        if not outcomes:
            back = html.escape(payment.redirect_url or "#")
            self.send_html(200, page("Payment finished", summary + f'<p><a href="{back}">Back to the shop</a></p>'))
            return
        choices = "".join(
            f'<label><input type="radio" name="outcome" value="{o}"{" checked" if i == 0 else ""}> {o}</label><br>'
            for i, o in enumerate(outcomes))
        method_choice = ""
        if method is None:
            options = '<option value="">any (iDEAL; Klarna when authorized)</option>' + "".join(
                f'<option value="{m}">{m}</option>'
                for m in ("ideal", "creditcard", "bancontact", "paypal", "klarna", "banktransfer"))
            method_choice = f'<p><label>Method <select name="method">{options}</select></label></p>'
        form = (f'<form method="post" action="/checkout/{payment.id}">{method_choice}'
                f'<fieldset><legend>Test outcome</legend>{choices}</fieldset>'
                f'<p><button type="submit">Continue</button></p></form>')
        self.send_html(200, page("Mollie test checkout (simulator)", summary + form))

    def checkout_submit(self, pid: str) -> None:
        payment = self.store.payment_for_checkout(pid)
        if payment is None:
            self.send_html(404, page("Unknown payment", f"<p>No payment {html.escape(pid)}.</p>"))
            return
        form = dict(urllib.parse.parse_qsl(self.raw_body.decode("utf-8", errors="replace")))
        try:
            self.store.checkout(payment, form.get("outcome", ""), form.get("method") or None)
        except ValueError as err:
            self.send_html(409, page("Not possible", f"<p>{html.escape(str(err))}</p>"))
            return
        target = payment.redirect_url
        if payment.status == "canceled" and payment.cancel_url:
            target = payment.cancel_url
        self.send_html(303, page("Redirecting", f'<p><a href="{html.escape(target or "")}">Back to the shop</a></p>'),
                       location=target)

    def dashboard(self, pid: str) -> None:
        self.send_html(200, page("Dashboard", f"<p>The simulator has no dashboard; payment "
                                              f"<code>{html.escape(pid)}</code>.</p>"))

    # the simulator's own endpoints, for tests

    def sim_add_key(self) -> None:
        body = self.body()
        account = self.store.add_key(body.get("key"))
        self.send_json(201, {"key": account.key, "mode": "live" if account.key.startswith("live_") else "test",
                             "profileId": account.profile_id})

    def sim_webhooks(self) -> None:
        with self.store.lock:
            deliveries = [d.json() for d in self.store.deliveries
                          if self.query.get("paymentId") in (None, d.payment_id)]
        self.send_json(200, {"count": len(deliveries), "deliveries": deliveries})

    def sim_faults(self) -> None:
        body = self.body()
        status, count = body.get("status", 503), body.get("count", 1)
        if not isinstance(status, int) or not 400 <= status <= 599 or not isinstance(count, int) or count < 0:
            raise ApiError(422, "Give a status 400–599 and a count ≥ 0", "status")
        with self.store.lock:
            self.store.faults = [status] * count
        self.send_json(200, {"status": status, "count": count})

    def sim_refund_status(self, pid: str, rid: str) -> None:
        refund = self.store.set_refund_status(pid, rid, self.body().get("status", ""))
        mode = "live" if self.store.owner.get(pid, "").startswith("live_") else "test"
        with self.store.lock:
            self.send_json(200, refund.json(self.base, mode, self.store.settings.currencies))

    def sim_health(self) -> None:
        self.send_json(200, {"status": "ok"})


def page(title: str, content: str) -> str:
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>body{{font-family:sans-serif;max-width:36rem;margin:3rem auto}}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{content}</body></html>")


# --- CLI -------------------------------------------------------------------------------------------


def currency_option(text: str) -> tuple[str, int]:
    code, _, places = text.partition(":")
    if not re.match(r"^[A-Z]{3}$", code) or not places.isdigit():
        raise argparse.ArgumentTypeError("give CODE:DECIMALS, e.g. KWD:3")
    return code, int(places)


def serve(args: argparse.Namespace) -> None:
    settings = Settings(
        webhook_retries=args.webhook_retries, webhook_backoff_ms=args.webhook_backoff_ms,
        webhook_timeout_s=args.webhook_timeout_s, expiry_seconds=args.expiry_seconds,
        public_url=args.public_url,
    )
    settings.currencies.update(dict(args.currency))
    notifier = Notifier(settings)
    store = Store(settings, notifier)
    notifier.store = store
    for key in args.key:
        store.add_key(key)
    handler = type("BoundHandler", (Handler,), {"store": store})
    server = ThreadingHTTPServer((args.host, args.port), handler)
    server.daemon_threads = True
    stop = threading.Event()

    def sweep() -> None:  # expire open payments on time, with their webhook, even if nobody asks
        while not stop.wait(1.0):
            store.expire_all_due()

    threading.Thread(target=sweep, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    # The port bound (`--port 0` picks a free one): tests read it from this line.
    port = server.server_address[1]
    print(f"Mollie simulator on http://{args.host}:{port}/v2 ({len(args.key)} key(s) registered)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="See infra/mollie-sim/README.md.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run the simulator", description="Serve the Mollie API (under /v2), the hosted checkout (/checkout/tr_…) and the test endpoints (/_sim/…) on HOST:PORT.")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=9012)
    run.add_argument("--key", action="append", default=[],
                     help="register an API key (test_/live_ + 30 or more letters or digits); repeatable")
    run.add_argument("--webhook-retries", type=int, default=5, help="retries after a non-200 answer (default 5)")
    run.add_argument("--webhook-backoff-ms", type=int, default=200,
                     help="wait before the first retry, doubling each time (default 200)")
    run.add_argument("--webhook-timeout-s", type=float, default=5.0, help="per webhook call (default 5)")
    run.add_argument("--expiry-seconds", type=int, default=15 * 60,
                     help="an open payment expires this long after creation (Mollie: 15 minutes)")
    run.add_argument("--public-url", help="base URL for _links (default: from the request's Host)")
    run.add_argument("--currency", action="append", default=[], type=currency_option,
                     help="accept one more currency CODE:DECIMALS (not Mollie behaviour; for tests)")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
