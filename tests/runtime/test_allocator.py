"""The runtime process keeps large freed blocks for the next invocation instead of returning
them to the kernel (cpp/runtime/allocator.h): an event of a few MB is not mapped, faulted in
and unmapped again on every invocation."""

import subprocess
import sys

FREE_A_LARGE_BLOCK = """
import sys
from lamina import _core
if sys.argv[1] == "tuned":
    _core.keep_large_blocks_in_heap()
def rss_kb():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])
block = b"x" * 8_000_000  # written, so its pages are resident
before = rss_kb()
del block
print(before - rss_kb())
"""


def released_kb(mode: str) -> int:
    result = subprocess.run([sys.executable, "-c", FREE_A_LARGE_BLOCK, mode], capture_output=True, text=True, check=True)
    return int(result.stdout)


def test_large_blocks_stay_in_the_heap_once_tuned():
    assert released_kb("default") > 4000  # glibc's default: the 8 MB block goes back to the kernel
    assert released_kb("tuned") < 1000
