"""Part of make test: an anonymous caller against the public storefront of a running
`kassa serve`, with random query strings and headers (hypothesis). Every answer must be a
non-5xx with a JSON body; every refusal a problem+json with a `code`.

    storefront_fuzz.py http://127.0.0.1:18080 [examples]

The storefront has no OpenAPI document of its own yet, so schemathesis cannot drive it;
this generates what a hostile client would send: known and unknown parameters, repeated
ones, separators and percent signs inside values, NUL and other control characters, very
long values, forged cursors, unknown tenants, odd Accept-Language and Host headers.
"""

import base64
import json
import string
import sys
import urllib.parse

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BASE = sys.argv[1].rstrip("/")
EXAMPLES = int(sys.argv[2]) if len(sys.argv) > 2 else 1500
SESSION = requests.Session()
SEEN = {"requests": 0, "by_status": {}}

KEYS = ["limit", "cursor", "sort", "price_min", "price_max", "q", "facets", "locale", "currency",
        "customer_group", "attr[color]", "attr[size]", "attr[]", "attr[a&b]", "order", "status"]
NASTY = ["", "0", "-1", "1e3", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
         "2147483648", "NaN", "null", "true", "%", "%00", "\x00", "a&limit=7", "a=b", ",", ",,,",
         "newest", "price_asc", "title", "nl", "EUR", "eur", "EURO", "wholesale", "x" * 5000,
         "é", "\u202e", "\ufeff", "../../etc", "' or 1=1 --", "{\"o\":1}"]


def forged_cursor(draw_key):
    """Cursors of the right shape with a made-up sort key, in the current and the earlier
    (tenant-less) format."""
    nil = "00000000-0000-0000-0000-000000000000"
    bodies = [{"o": "shop:newest:en:EUR", "t": nil, "k": draw_key, "i": nil},
              {"o": "newest:en:EUR", "k": draw_key, "i": nil},
              {"o": "price_asc:en:EUR", "k": draw_key, "i": nil}]
    body = bodies[len(draw_key) % len(bodies)]
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
values = st.one_of(st.sampled_from(NASTY), text, text.map(forged_cursor),
                   st.binary(max_size=30).map(lambda b: base64.urlsafe_b64encode(b).decode()))
keys = st.one_of(st.sampled_from(KEYS), text)
params = st.lists(st.tuples(keys, values), max_size=8)
paths = st.one_of(
    st.just("/storefront/products"),
    st.just("/storefront/tenant"),
    st.one_of(st.sampled_from(["product-1", "nope", "%00", "a%2Fb", "x" * 300]),
              st.text(alphabet=string.ascii_letters + string.digits + "-_.~%", max_size=30))
    .map(lambda h: "/storefront/products/" + h),
)
# What HTTP allows in a header value (visible ASCII and spaces inside); anything else is
# refused by the HTTP parser before Kassa sees it.
HEADER_CHARS = "".join(c for c in string.printable if c not in "\n\r\x0b\x0c")
header_text = st.text(alphabet=HEADER_CHARS, max_size=80).map(str.strip)
tenants = st.one_of(st.just("demo"), st.just("other"), st.sampled_from(["", "DEMO", "00000000-0000-0000-0000-000000000000"]),
                    header_text)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(path=paths, query=params, tenant=st.one_of(st.none(), tenants),
       language=st.one_of(st.none(), header_text), host=st.one_of(st.none(), header_text),
       if_none_match=st.one_of(st.none(), header_text))
def storefront_never_fails(path, query, tenant, language, host, if_none_match):
    headers = {}
    if tenant is not None:
        headers["X-Tenant-ID"] = tenant
    if language is not None:
        headers["Accept-Language"] = language
    if host is not None:
        headers["Host"] = host
    if if_none_match is not None:
        headers["If-None-Match"] = if_none_match
    url = BASE + path + ("?" + urllib.parse.urlencode(query) if query else "")
    response = SESSION.get(url, headers=headers, timeout=30)
    SEEN["requests"] += 1
    SEEN["by_status"][response.status_code] = SEEN["by_status"].get(response.status_code, 0) + 1
    assert response.status_code < 500, f"{response.status_code} for GET {url} {headers}: {response.text[:300]}"
    if response.status_code >= 400:
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json"), response.headers
        assert problem.get("code"), problem


if __name__ == "__main__":
    storefront_never_fails()
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(SEEN["by_status"].items()))
    print(f"storefront fuzz: {SEEN['requests']} anonymous requests, no 5xx ({statuses})")
