#!/usr/bin/env python3
"""Writes infra/layout/kassa.order from callgrind profiles of `kassa serve` (make layout).

    python3 profile.py <binary> <order-file> <header line> <callgrind.out> ...

Takes every function of <binary> that ran in any of the profiles (callgrind run with
--compress-strings=no --compress-pos=no --demangle=no), adds up the instructions each one
executed itself, and writes them as `<size> <key>` (symbols.py) hottest first: the functions
that run most share pages and cache lines, and the whole set sits at the start of the code.
"""

import collections
import datetime
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import symbols  # noqa: E402

RECURSION = re.compile(r"'\d+$")


def self_costs(path, binary):
    """{mangled name: instructions executed in it} for the functions of `binary` in one profile."""
    costs = collections.Counter()
    obj = fn = None
    after_calls = False
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("ob="):
                obj = line[3:].strip()
            elif line.startswith("fn="):
                # A recursive call's level is a suffix: name'2.
                fn = RECURSION.sub("", line[3:].strip()) if os.path.realpath(obj or "") == binary else None
                after_calls = False
            elif line.startswith("calls="):
                after_calls = True  # the next cost line is the call's inclusive cost
            elif line[:1].isdigit() or line[:1] in "+-*":
                if fn is not None and not after_calls:
                    fields = line.split()
                    if len(fields) >= 2:
                        costs[fn] += int(fields[1])
                after_calls = False
    return costs


def main():
    binary, order_path, header = os.path.realpath(sys.argv[1]), sys.argv[2], sys.argv[3]
    costs = collections.Counter()
    for path in sys.argv[4:]:
        costs.update(self_costs(path, binary))
    if not costs:
        sys.exit(f"no function of {binary} in the profiles: was it built with its symbols?")
    sizes = dict(symbols.sized_text_symbols([binary]))
    names = list(costs)
    by_function = collections.Counter()
    for name, key in zip(names, symbols.keys(names)):
        if name not in sizes:
            continue  # callgrind's own entries: "(below main)", code without a symbol (0x...)
        by_function[(sizes[name], key)] += costs[name]
    ordered = sorted(by_function, key=lambda function: (-by_function[function], function[1], function[0]))
    with open(order_path, "w") as f:
        f.write(f"# {header}\n")
        f.write(f"# {len(ordered)} functions ({sum(size for size, _ in ordered) / 1e6:.2f} MB), hottest first; "
                f"written {datetime.date.today()} by make layout\n")
        f.write("# (infra/scripts/layout.sh). Each line: the size in bytes, the demangled name without its hash.\n")
        f.writelines(f"{size} {key}\n" for size, key in ordered)
    print(f"{order_path}: {len(ordered)} functions, {sum(by_function.values()):,} instructions profiled")


if __name__ == "__main__":
    main()
