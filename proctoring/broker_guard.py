"""A narrow guard around kombu's Redis transport: a worker must survive a Redis restart.

kombu 5.7.0 (the latest release) restores a channel's unacknowledged messages when the channel
closes (`Channel.close()` -> `QoS.restore_unacked_once()` -> `restore_unacked()`). When the
connection was torn down first, which a Redis restart can do, the transport has already dropped
its client and its pools, so `conn_or_acquire()` builds a new pool from `_connparams()` and reads
`None.hostname`: `AttributeError`, "Unrecoverable error", and the worker exits. The same
AttributeError in `_connparams` on a closed connection is celery/kombu#582; the restore path on a
closing connection, celery/kombu#970. No release fixes it (docs/decisions/0015).

The guard skips only that restore, only in that state. Nothing is lost: each message is still in
Redis's unacked hash with its delivery time, and the visibility-timeout sweep of the reconnected
worker (or any other) puts it back on its queue, as after a worker killed with SIGKILL.
`tests/proctoring/test_broker_guard.py` reproduces the crash and fails once kombu no longer has
it, so the guard can go.
"""

import functools
import logging

from kombu.transport import redis as kombu_redis

logger = logging.getLogger(__name__)

_ORIGINAL = kombu_redis.QoS.restore_unacked


def transport_gone(channel) -> bool:
    """The channel's transport dropped its client and pool: nothing can reach Redis through it."""
    transport = getattr(channel, "connection", None)
    no_client = transport is None or getattr(transport, "client", None) is None
    return no_client and getattr(channel, "_pool", None) is None


@functools.wraps(_ORIGINAL)
def restore_unacked(self, client=None):
    if client is None and transport_gone(self.channel):
        logger.warning(
            "broker connection already closed: %d unacknowledged message(s) left in Redis for "
            "the visibility-timeout sweep to restore",
            len(self._delivered),
        )
        # Forget them here only; Redis still holds them (unacked hash and index).
        self._delivered.clear()
        return None
    return _ORIGINAL(self, client)


def install() -> None:
    """Idempotent; called by the worker at start (proctoring.worker_hooks)."""
    kombu_redis.QoS.restore_unacked = restore_unacked


def uninstall() -> None:
    kombu_redis.QoS.restore_unacked = _ORIGINAL
