"""Validates OpenAPI documents as OpenAPI 3.1 (openapi-spec-validator, whose 3.1 validator also
checks every schema against JSON Schema 2020-12 and resolves every $ref). Fails (exit 1) on
the first invalid document; before that it proves it can fail, on a broken copy of the first.

    validate_openapi.py URL_OR_FILE...
"""

import copy
import json
import sys
import urllib.request

from openapi_spec_validator.validation import OpenAPIV31SpecValidator


def load(source):
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=30) as response:
            return json.load(response)
    with open(source, encoding="utf-8") as f:
        return json.load(f)


def problems(document):
    """Every problem of the document as OpenAPI 3.1 (an unresolvable $ref stops the walk)."""
    found = []
    if not str(document.get("openapi", "")).startswith("3.1"):
        found.append(f"openapi is {document.get('openapi')!r}, not 3.1.x")
    try:
        for error in OpenAPIV31SpecValidator(document).iter_errors():
            path = "/".join(str(p) for p in error.path) if getattr(error, "path", None) else ""
            found.append(f"{path}: {error.message}"[:300])
    except Exception as error:  # e.g. a $ref to a schema the document lacks
        found.append(f"{type(error).__name__}: {str(error)[:300]}")
    return found


documents = [(source, load(source)) for source in sys.argv[1:]]
if not documents:
    sys.exit("usage: validate_openapi.py URL_OR_FILE...")

# The check must be able to fail: a copy with a schema of an unknown type and a dangling $ref.
broken = copy.deepcopy(documents[0][1])
schemas = broken.setdefault("components", {}).setdefault("schemas", {})
schemas["Broken"] = {"type": "bogus", "properties": {"x": {"$ref": "#/components/schemas/Missing"}}}
if not problems(broken):
    sys.exit("validate_openapi.py: a broken document passed; the validator checks nothing")

failed = False
for source, document in documents:
    found = problems(document)
    if found:
        failed = True
        print(f"{source}: not a valid OpenAPI 3.1 document ({len(found)} problems):")
        for problem in found[:20]:
            print(f"  - {problem}")
    else:
        print(f"{source}: valid OpenAPI {document['openapi']}, {len(document.get('paths', {}))} paths")
sys.exit(1 if failed else 0)
