"""Keeps the media session alive: a silent connection is replaced by a new (resumed) session."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from agent.codes import AgentError
from agent.webrtc import MediaSession

logger = logging.getLogger(__name__)

# How long the ingest may stay silent (no RTCP, or the connection not "connected") before the
# agent gives up on the session: longer than RTCP's 1.5 s report interval and a Wi-Fi hiccup.
RECONNECT_GRACE_S = 5.0
LIVENESS_POLL_S = 0.5
RECONNECT_FIRST_DELAY_S = 0.5
# Short enough that the stream is back within seconds of the network (or the server) returning.
RECONNECT_MAX_DELAY_S = 5.0
# Refusals no retry can change: another session took over, the attempt is stopped.
FINAL_SERVER_CODES = frozenset({"session_replaced", "session_in_use", "attempt_stopped"})


class Supervisor:
    """Watches the current session and reconnects, with backoff, until cancelled (stop/destroy).

    A session is dead when the ingest has been silent past the grace time, or when there is
    none and nobody is opening one. While `replacing()` (a start() resuming, say) there is no
    session for a moment: that is not a death, and the supervisor waits. A reconnect names the
    session it found dead, and does nothing if another has replaced it meanwhile, so a resume
    and a reconnect never both open a session.
    """

    def __init__(
        self,
        current: Callable[[], MediaSession | None],
        reconnect: Callable[[MediaSession | None], Awaitable[dict[str, Any] | None]],
        emit_state: Callable[[dict[str, Any]], None],
        replacing: Callable[[], bool] = lambda: False,
        on_final: Callable[[AgentError], None] = lambda error: None,
    ) -> None:
        self._on_final = on_final
        self._current = current
        self._reconnect = reconnect
        self._emit_state = emit_state
        self._replacing = replacing
        self.reconnections = 0

    async def run(self) -> None:
        while True:
            dead = await self._wait_until_dead()
            if not await self._reconnect_with_backoff(dead):
                return

    async def _wait_until_dead(self) -> MediaSession | None:
        while True:
            await asyncio.sleep(LIVENESS_POLL_S)
            session = self._current()
            if session is None:
                if self._replacing():
                    continue  # a session is being opened: watch it once it is there
                return None
            silent = await session.silent_for()
            if silent > RECONNECT_GRACE_S and self._current() is session:
                logger.warning("no sign of the ingest for %.1f s: reconnecting", silent)
                return session

    async def _reconnect_with_backoff(self, dead: MediaSession | None) -> bool:
        """Reconnect until a session is open; False when the server refused for good."""
        delay = RECONNECT_FIRST_DELAY_S
        attempt = 0
        while self._current() is dead:
            attempt += 1
            self._emit_state({"state": "reconnecting", "attempt": attempt})
            try:
                reply = await self._reconnect(dead)
            except (AgentError, OSError) as exc:
                if isinstance(exc, AgentError) and exc.server_code in FINAL_SERVER_CODES:
                    logger.warning("reconnect refused for good: %s", exc.message)
                    self._on_final(exc)
                    return False
                message = exc.message if isinstance(exc, AgentError) else str(exc)
                logger.info("reconnect attempt %d failed: %s", attempt, message)
                # The failed attempt closed what it opened: no session is what is dead now.
                dead = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY_S)
                continue
            if reply is None:
                return True  # replaced meanwhile (a start()): the new session is watched
            self.reconnections += 1
            self._emit_state(
                {
                    "state": "reconnected",
                    "sessionId": reply.get("session_id"),
                    "resumed": bool(reply.get("resumed")),
                    "attempt": attempt,
                }
            )
            return True
        return True  # another session became current meanwhile: it is watched instead
