"""The VAD's carry between the audio windows of one stream, across batches and workers.

A window's carry (Silero's state, its last samples, the recent levels; about 2 kB) is kept in
the cache (Redis) for a short while under its session and seq: the next window, in whichever
batch and worker it lands, continues from it. A carry that is missing (expired, evicted, or its
window not analysed yet) only means that window starts fresh, as every window did before.
"""

import logging

import redis
from django.core.cache import cache

from proctoring.analysis.audio import VadCarry
from proctoring.analysis.errors import AnalysisError

logger = logging.getLogger(__name__)

# Long enough for the next window's batch (a second later, or after a short broker outage);
# short enough that an ended stream's carries soon leave the cache.
CARRY_TTL_S = 120
KEY = "vad-carry:{session}:{seq}"


def carries_before(starts: list[tuple[str, int]]) -> list[VadCarry | None]:
    """For each (session, seq) that begins a run, the carry its previous window left."""
    keys = [KEY.format(session=session, seq=seq - 1) for session, seq in starts]
    try:
        found = cache.get_many(keys) if keys else {}
    except redis.RedisError as exc:  # the carry is a refinement: its loss is no failure
        logger.warning("VAD carries unavailable (%s): windows start fresh", type(exc).__name__)
        found = {}
    return [_carry(found.get(key)) for key in keys]


def carries_keep(last: dict[tuple[str, int], VadCarry | None]) -> None:
    """Keep each run's last carry for the window that follows it."""
    values = {
        KEY.format(session=session, seq=seq): carry.to_dict()
        for (session, seq), carry in last.items()
        if carry is not None
    }
    if not values:
        return
    try:
        cache.set_many(values, timeout=CARRY_TTL_S)
    except redis.RedisError as exc:
        logger.warning("VAD carries not kept (%s)", type(exc).__name__)


def _carry(data) -> VadCarry | None:
    if data is None:
        return None
    try:
        return VadCarry.from_dict(data)
    except AnalysisError:
        logger.warning("a stored VAD carry was unreadable; the window starts fresh")
        return None
