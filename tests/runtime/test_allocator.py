"""The runtime process keeps memory an invocation freed for the next one instead of returning
it to the kernel (cpp/runtime/allocator.h): large blocks in the C heap, and arenas of
Python's small-object allocator. An event of a few MB is then not mapped, faulted in and
unmapped again on every invocation."""

import subprocess
import sys

import pytest

RELEASED_KB = """
import sys
from lamina import _core
if sys.argv[1] == "tuned":
    _core.keep_freed_memory_for_next_invocation()
def rss_kb():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])
if sys.argv[2] == "large block":
    memory = b"x" * 8_000_000  # written, so its pages are resident
else:  # the objects of a decoded batch of records: pymalloc arenas
    memory = [{"id": i, "name": "n" + str(i)} for i in range(100_000)]
before = rss_kb()
del memory
print(before - rss_kb())
"""


def released_kb(mode: str, memory: str) -> int:
    result = subprocess.run([sys.executable, "-c", RELEASED_KB, mode, memory], capture_output=True, text=True, check=True)
    return int(result.stdout)


@pytest.mark.parametrize("memory", ["large block", "small objects"])
def test_freed_memory_stays_in_the_process_once_tuned(memory):
    assert released_kb("default", memory) > 4000  # the default allocators give it back to the kernel
    assert released_kb("tuned", memory) < 1000
