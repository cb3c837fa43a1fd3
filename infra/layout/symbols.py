"""Functions as infra/layout/kassa.order names them: each line is `<size> <key>`.

The key is the demangled name without the hash that legacy Rust mangling appends (`::h` and
16 hex digits) and without the `.llvm.N` suffix of a local function that LTO made global. The
hash follows the crate's build metadata (its profile, features, dependencies), so the same
function has another one in the profiled build (`make layout`, profile.layout) than in the
release build; the key without it is stable. Legacy names leave out generic arguments, so the
instances of one generic function share a key; the size in bytes, which is the same in both
builds (they differ only in stripping), tells them apart. A size of 0 stands for every
function of that key.
"""

import re
import subprocess

HASH = re.compile(r"::h[0-9a-f]{16}$")
LTO_SUFFIX = re.compile(r"\.llvm\.\d+$")


def keys(mangled_names):
    """The key of each mangled name, in order (one c++filt for all of them)."""
    stripped = [LTO_SUFFIX.sub("", name) for name in mangled_names]
    if not stripped:
        return []
    demangled = subprocess.run(
        ["c++filt"], input="\n".join(stripped) + "\n", capture_output=True, text=True, check=True
    ).stdout.splitlines()
    if len(demangled) != len(stripped):
        raise RuntimeError(f"c++filt returned {len(demangled)} names for {len(stripped)}")
    return [HASH.sub("", name) for name in demangled]


def read_order(path):
    """The (size, key) pairs of an order file, in order; `#` starts a comment line."""
    entries = []
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                size, key = line.rstrip("\n").split(" ", 1)
                entries.append((int(size), key))
    return entries


def sized_text_symbols(files):
    """[(mangled name, size)] of the functions defined in ELF files (objects, archives, binaries)."""
    if not files:
        return []
    listing = subprocess.run(["nm", "--defined-only", "-S", "-p", *files], capture_output=True, text=True).stdout
    found = []
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[2] in "tTwW":
            found.append((fields[3], int(fields[1], 16)))
    return found
