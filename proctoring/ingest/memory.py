"""glibc malloc in the media process: large buffers go back to the system when they are freed.

glibc raises its mmap threshold each time an mmapped block is freed (up to 32 MiB), so after a
few decoded frames and conversions (0.5-3 MB each) such buffers come from the heap arenas of
many decoder threads, and freed holes are seldom returned. The media process's RSS then rose
8.3 MB/min at 40 candidates while memray saw its live heap flat (docs/benchmarks.md, soak).
Pinning the threshold keeps those buffers mmapped: freed at once, at the cost of page faults and
mmap lock contention (about 0.25 % of a core per candidate at 40), so it is opt-in
(PROCTOR_INGEST_MMAP_THRESHOLD).
"""

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # <malloc.h>; setting it also turns the dynamic threshold off


def pin_mmap_threshold(threshold_bytes: int) -> bool:
    """Fix glibc's mmap threshold for this process; False where there is nothing to set."""
    if threshold_bytes <= 0:
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        logger.info("no glibc mallopt in this process: the mmap threshold is left alone")
        return False
    pinned = bool(mallopt(M_MMAP_THRESHOLD, threshold_bytes))
    state = "pinned" if pinned else "NOT set"
    logger.info("malloc mmap threshold %s at %d bytes", state, threshold_bytes)
    return pinned
