#!/usr/bin/env python3
"""The release link of `kassa` with the functions that serving executes placed first.

infra/layout/cc runs this instead of `cc` when KASSA_LINK_ORDER names an order file (the build
script of infra/kassa sets it for release builds). It reads the symbols of the link's inputs,
maps each function of the order file (symbols.py) to its mangled name in this build, and
links with lld, which places those functions first and in that order
(`--symbol-ordering-file`; Debian's mold 1.10 has no such option). The kernel maps code 64 KB
around each page fault, so the few functions a server runs, when scattered across the binary,
make most of it resident; placed together, little more than they fill (README, "Code layout").

Next to the linked file it writes `<output>.order` (the mangled names handed to lld) and
`<output>.layout` (JSON: how many of the order file's functions it found, and how), which
`make bench` prints. Without ld.lld
the link goes ahead unordered and `<output>.layout` says so.
"""

import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import symbols  # noqa: E402


def expand(args):
    """The arguments, with rustc's response files (`@path`, one escaped argument per line) read."""
    out = []
    for arg in args:
        if arg.startswith("@") and os.path.isfile(arg[1:]):
            with open(arg[1:]) as f:
                out += [re.sub(r"\\(.)", r"\1", line) for line in f.read().splitlines()]
        else:
            out.append(arg)
    return out


def resolve(entries, found):
    """The mangled names to place first, in order, for the order file's (size, key) entries and
    the link's [(mangled name, size)]; and how many entries matched exactly, by key alone, not."""
    names = sorted(set(found))
    by_key, by_key_size = {}, {}
    for (name, size), key in zip(names, symbols.keys([name for name, _ in names])):
        by_key.setdefault(key, []).append(name)
        by_key_size.setdefault((key, size), []).append(name)
    placed, seen, counts = [], set(), {"exact": 0, "by_key": 0, "missing": 0}
    for size, key in entries:
        if (key, size) in by_key_size:
            matches, how = by_key_size[(key, size)], "exact"
        elif key in by_key:
            # Changed since the profile (or a size of 0): every instance of the name.
            matches, how = by_key[key], "by_key"
        else:
            matches, how = [], "missing"
        counts[how] += 1
        for name in matches:
            if name not in seen:
                seen.add(name)
                placed.append(name)
    return placed, counts, len(names)


def main():
    args = sys.argv[1:]
    order_path = os.environ["KASSA_LINK_ORDER"]
    expanded = expand(args)
    output = expanded[expanded.index("-o") + 1] if "-o" in expanded else "a.out"
    report = {"order_file": order_path}
    if shutil.which("ld.lld") is None:
        report["ordered"] = False
        report["why"] = "ld.lld is not installed"
    else:
        inputs = [a for a in expanded if a.endswith((".o", ".rlib", ".a")) and os.path.isfile(a)]
        entries = symbols.read_order(order_path)
        placed, counts, in_link = resolve(entries, symbols.sized_text_symbols(inputs))
        with open(output + ".order", "w") as f:
            f.write("".join(name + "\n" for name in placed))
        report.update(ordered=True, functions=len(entries), **counts, symbols_placed=len(placed),
                      symbols_in_link=in_link)
        args = args + ["-fuse-ld=lld", f"-Wl,--symbol-ordering-file={output}.order",
                       "-Wl,--no-warn-symbol-ordering"]
    with open(output + ".layout", "w") as f:
        json.dump(report, f)
    os.execvp("cc", ["cc", *args])


if __name__ == "__main__":
    main()
