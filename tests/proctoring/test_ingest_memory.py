"""The media process pins glibc's mmap threshold: a freed large buffer leaves the process."""

import subprocess
import sys

# In a fresh interpreter: pinning is process-wide and must not change the test process.
PROBE = """
import ctypes, sys
from proctoring.ingest.memory import pin_mmap_threshold

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Mallinfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def mmapped_by(size):
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(size)
    grown = libc.mallinfo2().hblkhd - before
    libc.free(block)
    return grown

print(pin_mmap_threshold(int(sys.argv[1])), end=" ")
libc.free(libc.malloc(8 << 20))  # freeing an mmapped 8 MB block raises glibc's own threshold
print(mmapped_by(600_000) > 0)  # a decoded frame's size: from the heap unless pinned
"""


def probe(threshold: int) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(threshold)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def test_pinned_a_frame_sized_buffer_stays_mmapped_after_a_large_free():
    assert probe(128 * 1024) == "True True"


def test_zero_leaves_glibc_alone():
    assert probe(0) == "False False"
