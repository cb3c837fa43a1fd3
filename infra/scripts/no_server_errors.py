"""Fails (exit 1) when a schemathesis JUnit report holds a server error (5xx) or no test
case at all; prints how many findings each other check made, for the record.

    no_server_errors.py junit.xml [console-output.txt]
"""

import collections
import re
import sys
import xml.etree.ElementTree as ET

report = ET.parse(sys.argv[1]).getroot()
cases = report.findall(".//testcase")
if not cases:
    sys.exit(f"{sys.argv[1]}: no operation was tested")
findings = collections.Counter()
server_errors = []
for case in cases:
    for failure in case.findall("failure") + case.findall("error"):
        text = (failure.get("message") or "") + "\n" + (failure.text or "")
        # Each finding is a line `- STnnn Title`, then the response as `[status] Reason:`.
        titles = re.findall(r"^- (?:ST\d+ )?(.+?)\s*$", text, re.M)
        if re.search(r"^\[5\d\d\]", text, re.M) or any("server error" in t.lower() for t in titles):
            server_errors.append(f"{case.get('name')}: {text.strip()[:800]}")
        for title in titles or ["(unnamed)"]:
            findings[title] += 1
print(f"schemathesis --checks all: {len(cases)} operations, findings by check:")
for title, n in findings.most_common():
    print(f"  {n:4d}  {title}")
if server_errors:
    print("server errors (5xx):")
    for line in server_errors:
        print("  " + line)
    sys.exit(1)
print("no server error (5xx)")
