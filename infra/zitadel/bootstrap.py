#!/usr/bin/env python3
"""Sets up a real Zitadel for Kassa, idempotently, through Zitadel's APIs.

Creates (or finds) what the Zitadel stand-in (infra/zitadel-standin/seed.json) fakes:
  - the organisations Kassa's demo shops name (kassa seed-demo): Kassa Platform
    310000000000000001, Demo Shop 310000000000000002, Other Shop 310000000000000003 — with
    those ids, so the seeded tenants' zitadel_org_id match;
  - the project "Kassa" in the platform organisation, asserting roles in tokens, with the
    roles owner, admin, editor, viewer and platform_admin;
  - the admin's application "kassa-admin" (OIDC, user agent, PKCE without a secret, JWT
    access tokens with roles) and the API application "kassa-api" (private key JWT);
  - the project granted to each shop organisation (every role but platform_admin);
  - the demo users (owner@demo, editor@demo, viewer@demo, manager@demo, owner@other,
    admin@platform) with their roles, all with DEMO_USER_PASSWORD.
Then writes what Kassa and the admin need (ZITADEL_ISSUER, ZITADEL_PROJECT_ID, …) as an env
file. Run again at any time: what exists is found and left as it is.

Authentication: a personal access token of an instance owner, e.g. the machine user Zitadel's
first start creates when ZITADEL_FIRSTINSTANCE_PATPATH is set (infra/docker-compose.yml).

  ZITADEL_URL=http://localhost:8081 ZITADEL_PAT_FILE=… DEMO_USER_PASSWORD=… \
    python3 infra/zitadel/bootstrap.py --out .kassa/zitadel.env

Standard library only, so it runs in a bare python image.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

PLATFORM_ORG = ("310000000000000001", "Kassa Platform")
SHOP_ORGS = [("310000000000000002", "Demo Shop"), ("310000000000000003", "Other Shop")]
ROLES = [
    ("owner", "Owner"),
    ("admin", "Admin"),
    ("editor", "Editor"),
    ("viewer", "Viewer"),
    ("platform_admin", "Platform admin"),
]
SHOP_ROLES = [key for key, _ in ROLES if key != "platform_admin"]
# login → (user id, org id, given name, family name, {org id: [roles]}); the stand-in's users.
USERS = {
    "owner@demo": ("320000000000000001", "310000000000000002", "Olivia", "Owner", {"310000000000000002": ["owner"]}),
    "editor@demo": ("320000000000000002", "310000000000000002", "Eddie", "Editor", {"310000000000000002": ["editor"]}),
    "viewer@demo": ("320000000000000003", "310000000000000002", "Vera", "Viewer", {"310000000000000002": ["viewer"]}),
    "owner@other": ("320000000000000004", "310000000000000003", "Otto", "Other", {"310000000000000003": ["owner"]}),
    "admin@platform": ("320000000000000005", "310000000000000001", "Ada", "Admin", {"310000000000000001": ["platform_admin"]}),
    "manager@demo": (
        "320000000000000007",
        "310000000000000002",
        "Mia",
        "Manager",
        {"310000000000000002": ["editor"], "310000000000000003": ["viewer"]},
    ),
}
ADMIN_ORIGINS = ["http://admin.localhost", "http://localhost:3000", "http://127.0.0.1:3000"]


class Conflict(Exception):
    """Zitadel answered 409: it exists already."""


class Zitadel:
    def __init__(self, url, token, host=None):
        self.url = url.rstrip("/")
        self.token = token
        self.host = host

    def call(self, method, path, body=None, org=None):
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if org:
            headers["x-zitadel-orgid"] = org
        if self.host:
            headers["Host"] = self.host
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
                return json.loads(text) if text else {}
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            if err.code == 409:
                raise Conflict(detail) from None
            raise SystemExit(f"{method} {path}: HTTP {err.code}: {detail}") from None

    def create(self, path, body, org=None):
        """POST that is fine when the thing exists (409); returns the answer or None."""
        try:
            return self.call("POST", path, body, org)
        except Conflict:
            return None


def wait_until_ready(url, seconds):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/debug/ready", timeout=5):
                return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise SystemExit(f"Zitadel at {url} is not ready after {seconds} s")
            time.sleep(2)


def read_token(path, seconds):
    deadline = time.monotonic() + seconds
    while not (os.path.exists(path) and open(path).read().strip()):
        if time.monotonic() > deadline:
            raise SystemExit(f"no personal access token in {path} (is ZITADEL_FIRSTINSTANCE_PATPATH set?)")
        time.sleep(2)
    return open(path).read().strip()


def ensure_orgs(z):
    for org_id, name in [PLATFORM_ORG, *SHOP_ORGS]:
        created = z.create("/v2/organizations", {"name": name, "orgId": org_id})
        print(f"organisation {name} ({org_id}): {'created' if created else 'exists'}")


def ensure_project(z):
    platform = PLATFORM_ORG[0]
    query = {"queries": [{"nameQuery": {"name": "Kassa", "method": "TEXT_QUERY_METHOD_EQUALS"}}]}
    found = z.call("POST", "/management/v1/projects/_search", query, org=platform).get("result", [])
    if found:
        project_id = found[0]["id"]
        print(f"project Kassa ({project_id}): exists")
    else:
        body = {"name": "Kassa", "projectRoleAssertion": True, "projectRoleCheck": True, "hasProjectCheck": False}
        project_id = z.call("POST", "/management/v1/projects", body, org=platform)["id"]
        print(f"project Kassa ({project_id}): created")
    for key, display in ROLES:
        created = z.create(f"/management/v1/projects/{project_id}/roles", {"roleKey": key, "displayName": display}, org=platform)
        print(f"  role {key}: {'created' if created else 'exists'}")
    return project_id


def ensure_apps(z, project_id):
    platform = PLATFORM_ORG[0]
    apps = z.call("POST", f"/management/v1/projects/{project_id}/apps/_search", {}, org=platform).get("result", [])
    by_name = {app["name"]: app for app in apps}
    if "kassa-admin" in by_name:
        admin_client = by_name["kassa-admin"]["oidcConfig"]["clientId"]
        print(f"app kassa-admin ({admin_client}): exists")
    else:
        body = {
            "name": "kassa-admin",
            "redirectUris": [f"{o}/auth/callback" for o in ADMIN_ORIGINS] + ["http://127.0.0.1:13000/auth/callback"],
            "postLogoutRedirectUris": [f"{o}/" for o in ADMIN_ORIGINS] + ["http://127.0.0.1:13000/"],
            "responseTypes": ["OIDC_RESPONSE_TYPE_CODE"],
            "grantTypes": ["OIDC_GRANT_TYPE_AUTHORIZATION_CODE", "OIDC_GRANT_TYPE_REFRESH_TOKEN"],
            "appType": "OIDC_APP_TYPE_USER_AGENT",
            # PKCE, no client secret: the admin is a browser app.
            "authMethodType": "OIDC_AUTH_METHOD_TYPE_NONE",
            # Plain http on localhost needs the development mode.
            "devMode": True,
            # Kassa validates JWT access tokens locally (EXTERNAL-APIS.md), with roles in them.
            "accessTokenType": "OIDC_TOKEN_TYPE_JWT",
            "accessTokenRoleAssertion": True,
            "idTokenRoleAssertion": True,
            "idTokenUserinfoAssertion": True,
        }
        admin_client = z.call("POST", f"/management/v1/projects/{project_id}/apps/oidc", body, org=platform)["clientId"]
        print(f"app kassa-admin ({admin_client}): created")
    if "kassa-api" in by_name:
        api_client = by_name["kassa-api"].get("apiConfig", {}).get("clientId", "")
        print(f"app kassa-api ({api_client}): exists")
    else:
        body = {"name": "kassa-api", "authMethodType": "API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT"}
        api_client = z.call("POST", f"/management/v1/projects/{project_id}/apps/api", body, org=platform)["clientId"]
        print(f"app kassa-api ({api_client}): created")
    return admin_client, api_client


def ensure_project_grants(z, project_id):
    """Project grant per shop organisation → its id."""
    platform = PLATFORM_ORG[0]
    for org_id, name in SHOP_ORGS:
        created = z.create(
            f"/management/v1/projects/{project_id}/grants", {"grantedOrgId": org_id, "roleKeys": SHOP_ROLES}, org=platform
        )
        print(f"project granted to {name}: {'created' if created else 'exists'}")
    grants = z.call("POST", f"/management/v1/projects/{project_id}/grants/_search", {}, org=platform).get("result", [])
    return {grant["grantedOrgId"]: grant["grantId"] for grant in grants}


def ensure_users(z, project_id, grants, password):
    for login, (user_id, org_id, given, family, roles) in USERS.items():
        body = {
            "userId": user_id,
            "username": login,
            "organization": {"orgId": org_id},
            "profile": {"givenName": given, "familyName": family},
            "email": {"email": f"{login.replace('@', '.')}@kassa.localhost", "isVerified": True},
            "password": {"password": password, "changeRequired": False},
        }
        created = z.create("/v2/users/human", body)
        print(f"user {login} ({user_id}): {'created' if created else 'exists'}")
        for grant_org, keys in roles.items():
            # A role in another organisation's shop is a grant made in that organisation.
            grant = {"projectId": project_id, "roleKeys": keys}
            if grant_org != PLATFORM_ORG[0]:
                grant["projectGrantId"] = grants[grant_org]
            created = z.create(f"/management/v1/users/{user_id}/grants", grant, org=grant_org)
            print(f"  roles {keys} in {grant_org}: {'granted' if created else 'exist'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("ZITADEL_URL", "http://localhost:8081"))
    parser.add_argument("--issuer", default=os.environ.get("ZITADEL_ISSUER"), help="the issuer tokens carry (default: --url)")
    parser.add_argument(
        "--host-header",
        default=os.environ.get("ZITADEL_HOST_HEADER"),
        help="Host header to send when --url is not Zitadel's external address (e.g. localhost:8081)",
    )
    parser.add_argument("--pat-file", default=os.environ.get("ZITADEL_PAT_FILE", "/machinekey/pat.txt"))
    parser.add_argument("--out", default=os.environ.get("ZITADEL_ENV_OUT", "zitadel.env"))
    parser.add_argument("--wait", type=int, default=300, help="seconds to wait for Zitadel and its token")
    args = parser.parse_args()
    password = os.environ.get("DEMO_USER_PASSWORD")
    if not password:
        raise SystemExit("set DEMO_USER_PASSWORD (upper and lower case, a digit and a symbol)")

    wait_until_ready(args.url, args.wait)
    z = Zitadel(args.url, read_token(args.pat_file, args.wait), args.host_header)
    ensure_orgs(z)
    project_id = ensure_project(z)
    admin_client, api_client = ensure_apps(z, project_id)
    grants = ensure_project_grants(z, project_id)
    ensure_users(z, project_id, grants, password)

    issuer = args.issuer or args.url
    lines = [
        "# Written by infra/zitadel/bootstrap.py: Kassa and the admin against the compose Zitadel.",
        f"ZITADEL_ISSUER={issuer}",
        f"ZITADEL_PROJECT_ID={project_id}",
        f"ZITADEL_PLATFORM_ORG_ID={PLATFORM_ORG[0]}",
        f"NUXT_PUBLIC_ZITADEL_ISSUER={issuer}",
        f"NUXT_PUBLIC_ZITADEL_CLIENT_ID={admin_client}",
        f"NUXT_PUBLIC_ZITADEL_PROJECT_ID={project_id}",
        f"KASSA_API_CLIENT_ID={api_client}",
    ]
    with open(args.out, "w") as out:
        out.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
