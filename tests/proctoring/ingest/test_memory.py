"""glibc in the media process: pinned mmap threshold and periodic trim give freed memory back."""

import subprocess
import sys
import time

import pytest

from proctoring.ingest import memory

real_trim_heap = memory.trim_heap

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


# Freed heap blocks below a live one: only malloc_trim's walk of the arena gives them back
# (a plain free returns nothing while the top of the heap is in use).
TRIM_PROBE = """
import ctypes
from proctoring.ingest.memory import trim_heap

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]

def rss_kb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4

trim_heap()
blocks = [libc.malloc(64 * 1024) for _ in range(1600)]  # 100 MB under the mmap threshold
for block in blocks:
    libc.memset(block, 1, 64 * 1024)
pinned_top = libc.malloc(64 * 1024)  # keeps the heap's top in use
for block in blocks:
    libc.free(block)
held = rss_kb()
released = trim_heap()
print(released, (held - rss_kb()) // 1024)
"""


def test_trim_heap_returns_freed_pages_held_below_a_live_block():
    done = subprocess.run(
        [sys.executable, "-c", TRIM_PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    released, megabytes_returned = done.stdout.split()
    assert released == "True"
    assert int(megabytes_returned) >= 90


@pytest.fixture
def trims_counted(settings, monkeypatch) -> list[float]:
    """Every trim the media process asks for, with its time; trims every 50 ms."""
    settings.PROCTOR_INGEST_MALLOC_TRIM_S = 0.05
    calls: list[float] = []

    def counted_trim() -> bool:
        calls.append(time.monotonic())
        return real_trim_heap()

    monkeypatch.setattr(memory, "trim_heap", counted_trim)
    return calls


def test_the_media_process_trims_its_heap_on_a_schedule(trims_counted, ingest):
    deadline = time.monotonic() + 5
    while len(trims_counted) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)

    assert len(trims_counted) >= 3
