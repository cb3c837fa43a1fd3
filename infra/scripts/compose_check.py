#!/usr/bin/env python3
"""What `docker compose config` checks, for machines without Docker's compose plugin.

1. Interpolation as compose does it (${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
   ${VAR?error}, $$) with the variables of an env file (default infra/.env.example): a
   required variable the file lacks is an error, as compose refuses to start without it.
2. The interpolated file against the Compose Specification's JSON schema
   (infra/compose-spec.json: compose-spec/compose-spec's schema, Apache-2.0, as the PyPI
   package check-jsonschema 0.39.0 ships it; that package itself needs a newer click than
   aws-sam-cli allows, so only its schema is kept here).
3. What the schema cannot see: depends_on names a service, named volumes are declared,
   bind-mounted paths exist (relative to the compose file), a service on the host's network
   publishes no ports, every published port binds 127.0.0.1.

  python3 infra/scripts/compose_check.py [--env-file infra/.env.example] infra/docker-compose.yml
"""

import argparse
import json
import os
import re
import sys

import jsonschema
from ruamel.yaml import YAML

VARIABLE = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


def read_env(path):
    values = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def interpolate(value, env, errors, where):
    if isinstance(value, dict):
        return {k: interpolate(v, env, errors, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, errors, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match):
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg")
        present = name in env
        empty = present and env[name] == ""
        if op in (":-", "-"):
            return arg if (not present or (op == ":-" and empty)) else env[name]
        if op in (":?", "?"):
            if not present or (op == ":?" and empty):
                errors.append(f"{where}: required variable {name} is missing: {arg}")
                return ""
            return env[name]
        return env.get(name, "")

    return VARIABLE.sub(replace, value)


def check(compose_path, env_path):
    errors = []
    with open(compose_path) as f:
        raw = YAML(typ="safe").load(f)
    env = read_env(env_path)
    doc = interpolate(raw, env, errors, "")
    schema_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compose-spec.json")
    with open(schema_path) as f:
        schema = json.load(f)
    validator = jsonschema.validators.validator_for(schema)(schema)
    for error in sorted(validator.iter_errors(doc), key=str):
        errors.append(f"schema: {'/'.join(map(str, error.absolute_path))}: {error.message}")

    base = os.path.dirname(os.path.abspath(compose_path))
    services = doc.get("services", {})
    volumes = doc.get("volumes", {}) or {}
    for name, service in services.items():
        depends = service.get("depends_on", [])
        for other in depends if isinstance(depends, list) else depends.keys():
            if other not in services:
                errors.append(f"services.{name}.depends_on: no service {other}")
        for mount in service.get("volumes", []):
            source = mount.split(":")[0] if isinstance(mount, str) else mount.get("source", "")
            if source.startswith((".", "/")):
                path = os.path.normpath(os.path.join(base, source))
                # Compose creates a missing bind-mount directory; a file must exist.
                if not os.path.exists(path) and "." in os.path.basename(path):
                    errors.append(f"services.{name}.volumes: {source} does not exist")
            elif source and source not in volumes:
                errors.append(f"services.{name}.volumes: named volume {source} is not declared")
        ports = service.get("ports", [])
        if service.get("network_mode") == "host" and ports:
            errors.append(f"services.{name}: ports are ignored on the host's network")
        for port in ports:
            text = port if isinstance(port, str) else port.get("host_ip", "")
            if not str(text).startswith("127.0.0.1"):
                errors.append(f"services.{name}.ports: {port} is published beyond 127.0.0.1")
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("compose", nargs="?", default="infra/docker-compose.yml")
    parser.add_argument("--env-file", default="infra/.env.example")
    args = parser.parse_args()
    errors = check(args.compose, args.env_file)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if errors:
        return 1
    print(f"{args.compose}: valid (Compose Specification schema, interpolation with {args.env_file}, references)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
