"""make test: the release link orders functions as infra/layout/kassa.order says.

Links a small C program, whose functions carry Rust's legacy mangled names (with a hash, one
also with LTO's `.llvm.N` suffix, two as instances of one generic function), through
infra/layout/cc with an order file of their sizes and keys, and checks where the functions
ended up; then the same link without the order file.

    python3 infra/layout/test_link.py
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import symbols  # noqa: E402

# Functions of the made-up crate `shop`: `poll` has two instances (one hash each, different
# sizes), as a generic function has under legacy mangling.
SOURCE = r"""
int cold_a(int x) __asm__("_ZN4shop6cold_a17h00000000000000aaE");
int hot_b(int x) __asm__("_ZN4shop5hot_b17h00000000000000bbE");
int hot_c(int x) __asm__("_ZN4shop5hot_c17h00000000000000ccE.llvm.4242");
int hot_d(int x) __asm__("_ZN4shop5hot_d17h00000000000000ddE");
int poll_small(int x) __asm__("_ZN4shop4poll17h0000000000000001E");
int poll_big(int x, int y) __asm__("_ZN4shop4poll17h0000000000000002E");
__attribute__((noinline)) int cold_a(int x) { return x * 3 + 1; }
__attribute__((noinline)) int hot_b(int x) { return x * 5 + 2; }
__attribute__((noinline)) int hot_c(int x) { return x * 7 + 3; }
__attribute__((noinline)) int hot_d(int x) { return x * 11 + 4; }
__attribute__((noinline)) int poll_small(int x) { return x + 1; }
__attribute__((noinline)) int poll_big(int x, int y) { int s = 0; for (int i = 0; i < x; i++) s += i * y ^ (s >> 3); return s; }
int main(int argc, char **argv) {
  (void)argv;
  return cold_a(argc) + hot_b(argc) + hot_c(argc) + hot_d(argc) + poll_small(argc) + poll_big(argc, 3) == 0;
}
"""


class LinkOrder(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="kassa-layout-")
        source = os.path.join(self.dir, "shop.c")
        with open(source, "w") as f:
            f.write(SOURCE)
        self.obj = os.path.join(self.dir, "shop.o")
        subprocess.run(["cc", "-O1", "-ffunction-sections", "-c", source, "-o", self.obj], check=True)
        sizes = dict(symbols.sized_text_symbols([self.obj]))
        self.poll_big = sizes["_ZN4shop4poll17h0000000000000002E"]
        self.assertNotEqual(self.poll_big, sizes["_ZN4shop4poll17h0000000000000001E"])
        # Exact entries (size and key), the big `poll` only, a function this link lacks, and a
        # size that matches nothing (the function changed since the profile): every `hot_c`.
        self.order = os.path.join(self.dir, "kassa.order")
        with open(self.order, "w") as f:
            f.write("# comment lines are skipped\n"
                    f"{sizes['_ZN4shop5hot_d17h00000000000000ddE']} shop::hot_d\n"
                    f"{sizes['_ZN4shop5hot_b17h00000000000000bbE']} shop::hot_b\n"
                    f"{self.poll_big} shop::poll\n"
                    "40 shop::not_in_this_link\n"
                    "1 shop::hot_c\n")

    def link(self, env):
        out = os.path.join(self.dir, "shop")
        subprocess.run([os.path.join(HERE, "cc"), self.obj, "-o", out], check=True, env=env)
        listing = subprocess.run(["nm", "-n", out], capture_output=True, text=True, check=True).stdout
        text = [line.split()[2] for line in listing.splitlines() if line.split()[1:2] in (["t"], ["T"])]
        return out, [name for name in text if name.startswith("_ZN4shop")]

    def test_ordered_functions_come_first_in_file_order(self):
        env = dict(os.environ, KASSA_LINK_ORDER=self.order)
        out, functions = self.link(env)
        self.assertEqual(
            functions[:4],
            ["_ZN4shop5hot_d17h00000000000000ddE", "_ZN4shop5hot_b17h00000000000000bbE",
             "_ZN4shop4poll17h0000000000000002E", "_ZN4shop5hot_c17h00000000000000ccE.llvm.4242"],
        )
        self.assertEqual(sorted(functions[4:]),
                         ["_ZN4shop4poll17h0000000000000001E", "_ZN4shop6cold_a17h00000000000000aaE"])
        with open(out + ".layout") as f:
            report = json.load(f)
        self.assertEqual(
            {k: report[k] for k in ("ordered", "functions", "exact", "by_key", "missing", "symbols_placed")},
            {"ordered": True, "functions": 5, "exact": 3, "by_key": 1, "missing": 1, "symbols_placed": 4})
        # The program still runs: cold_a(1) + hot_b(1) + ... is not 0, so main returns 0.
        self.assertEqual(subprocess.run([out]).returncode, 0)

    def test_without_an_order_file_the_link_is_plain_cc(self):
        out, _ = self.link(dict(os.environ, KASSA_LINK_ORDER=self.order))
        self.assertTrue(os.path.exists(out + ".layout"))
        # Linked again to the same file without the order: in source order, and the earlier
        # link's report is gone, so make bench cannot print it for this binary.
        env = {k: v for k, v in os.environ.items() if k != "KASSA_LINK_ORDER"}
        out, functions = self.link(env)
        self.assertEqual(functions[:2], ["_ZN4shop6cold_a17h00000000000000aaE", "_ZN4shop5hot_b17h00000000000000bbE"])
        self.assertEqual(len(functions), 6)
        self.assertFalse(os.path.exists(out + ".layout"))
        self.assertEqual(subprocess.run([out]).returncode, 0)


if __name__ == "__main__":
    unittest.main()
