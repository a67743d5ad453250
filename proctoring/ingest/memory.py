"""glibc malloc in the media process: large buffers go back to the system when they are freed.

glibc raises its mmap threshold each time an mmapped block is freed (up to 32 MiB), so after a
few decoded frames and conversions (0.5-3 MB each) such buffers come from the heap arenas of
many decoder threads, and freed holes are seldom returned. The media process's RSS then rose
8.3 MB/min at 40 candidates while memray saw its live heap flat (docs/benchmarks.md, soak).
Pinning the threshold keeps those buffers mmapped: freed at once, at the cost of page faults and
mmap lock contention (about 0.25 % of a core per candidate at 40), so it is opt-in
(PROCTOR_INGEST_MMAP_THRESHOLD).

The default gives free pages back now and then instead: `malloc_trim(0)` walks every arena and
returns the whole free pages inside free chunks, not only the top of the heap
(PROCTOR_INGEST_MALLOC_TRIM_S). Every 30 s at 36 candidates it took the RSS slope from 3.0 to
1.0 MB/min for no measurable CPU (media 0.598 against 0.600 cores; fewer page faults, not more).
"""

import ctypes
import ctypes.util
import functools
import logging

logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # <malloc.h>; setting it also turns the dynamic threshold off


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """This process's C library if it is glibc; None elsewhere (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallopt, libc.malloc_trim  # noqa: B018 - only glibc has both
    except (OSError, AttributeError, TypeError):
        return None
    return libc


def pin_mmap_threshold(threshold_bytes: int) -> bool:
    """Fix glibc's mmap threshold for this process; False where there is nothing to set."""
    if threshold_bytes <= 0:
        return False
    libc = _glibc()
    if libc is None:
        logger.info("no glibc mallopt in this process: the mmap threshold is left alone")
        return False
    pinned = bool(libc.mallopt(M_MMAP_THRESHOLD, threshold_bytes))
    state = "pinned" if pinned else "NOT set"
    logger.info("malloc mmap threshold %s at %d bytes", state, threshold_bytes)
    return pinned


def trim_heap() -> bool:
    """Return free heap pages of every arena to the system; True if any went back.

    It takes each arena's lock in turn, so call it from a thread other than the event loop.
    """
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
