"""The media process: answers offers from Redis, owns its peer connections, reports closures.

A pure adapter: it talks to the rest of the server only through Redis (offers, control) and
Celery task messages sent by name (proctoring.messages). It never touches the database, the
services or the analysis models.
"""

import asyncio
import datetime as dt
import json
import logging
import os
import socket
import tempfile
import time
import uuid
from pathlib import Path

import aiortc.exceptions
import redis
import redis.asyncio as aioredis
from aiortc import RTCPeerConnection, RTCSessionDescription
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from proctoring import messages
from proctoring.ingest import ice, memory
from proctoring.ingest.answer import AnswerPolicy, shape_answer
from proctoring.ingest.publisher import SamplePublisher
from proctoring.ingest.recording import SessionRecorder
from proctoring.ingest.session import IngestSession

logger = logging.getLogger(__name__)

POLL_TIMEOUT_S = 1
REDIS_RETRY_MIN_S = 0.2
REDIS_RETRY_MAX_S = 2.0
# aiortc's reasons for refusing an offer that are about the offer, and worth telling the agent.
OFFER_ERRORS = (
    ValueError,
    aiortc.exceptions.InvalidAccessError,
    aiortc.exceptions.InvalidStateError,
    aiortc.exceptions.OperationError,
)
MAX_REFUSAL_DETAIL = 200
# A refused offer's connection never started: closing it takes milliseconds, or never ends.
CLOSE_REFUSED_TIMEOUT_S = 2.0
# Recordings are written locally first, then handed to the storage backend on close.
RECORDING_SPOOL = Path(tempfile.gettempdir()) / "proctor-recordings"


def _node_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


class MediaServer:
    def __init__(self) -> None:
        self.node = _node_name()
        self.sessions: dict[str, IngestSession] = {}
        self._answering = 0  # offers taken but not yet answered: they count against the cap
        self._publisher = SamplePublisher()
        self._redis = aioredis.from_url(settings.REDIS_URL)
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        logger.info("media ingest %s ready", self.node)
        loops = [self._heartbeat, self._serve_offers, self._serve_control]
        if settings.PROCTOR_INGEST_MALLOC_TRIM_S > 0:
            loops.append(self._trim_heap)
        tasks = [asyncio.create_task(self._keep_running(loop)) for loop in loops]
        await self._stopping.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(
            *(s.close("ingest_shutdown") for s in list(self.sessions.values())),
            return_exceptions=True,
        )
        await self._redis.zrem(messages.NODES_KEY, self.node)
        await self._redis.hdel(messages.LOAD_KEY, self.node)
        await self._redis.aclose()
        self._publisher.shutdown()

    def stop(self) -> None:
        self._stopping.set()

    async def _keep_running(self, loop) -> None:
        """Redis may restart under us: log once, back off, and carry on."""
        delay = REDIS_RETRY_MIN_S
        while True:
            try:
                await loop()
            except (redis.RedisError, OSError) as exc:
                logger.error(
                    "%s: Redis unreachable (%s); retrying", loop.__name__, type(exc).__name__
                )
                await asyncio.sleep(delay)
                delay = min(REDIS_RETRY_MAX_S, delay * 2)

    async def _heartbeat(self) -> None:
        """This process is alive, and so is each session that received media lately (a start
        without the session's token is then a second session, not a reconnect). With it, how
        many samples each session handed over: if this process dies, the server still knows
        what to wait for (decisions/0017)."""
        live_key = messages.LIVE_KEY.format(node=self.node)
        sent_key = messages.SENT_KEY.format(node=self.node)
        while True:
            live = {sid: s.last_media_at for sid, s in self.sessions.items() if s.last_media_at}
            sent = {sid: s.enqueued for sid, s in self.sessions.items() if s.enqueued}
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zadd(messages.NODES_KEY, {self.node: time.time()})
                pipe.hset(messages.LOAD_KEY, self.node, len(self.sessions) + self._answering)
                pipe.delete(live_key)
                if live:
                    pipe.hset(live_key, mapping=live)
                    pipe.expire(live_key, messages.LIVE_TTL_S)
                if sent:
                    pipe.hset(sent_key, mapping=sent)
                    pipe.expire(sent_key, messages.SENT_TTL_S)
                await pipe.execute()
            await asyncio.sleep(messages.HEARTBEAT_INTERVAL_S)

    async def _trim_heap(self) -> None:
        """Decoded frames come and go by the megabyte; give their freed pages back."""
        while True:
            await asyncio.sleep(settings.PROCTOR_INGEST_MALLOC_TRIM_S)
            started = time.perf_counter()
            released = await asyncio.to_thread(memory.trim_heap)
            elapsed_ms = 1000 * (time.perf_counter() - started)
            logger.debug("malloc_trim: released=%s in %.1f ms", released, elapsed_ms)

    async def _serve_offers(self) -> None:
        while True:
            if self.full():
                # Leave the offer to an ingest with room; with none, the web answers 503
                # ingest_unavailable after its offer timeout and the agent tries again.
                await asyncio.sleep(POLL_TIMEOUT_S)
                continue
            # Its own list first: the web placed those here (decisions/0017).
            popped = await self._redis.blpop(
                [messages.NODE_OFFERS_KEY.format(node=self.node), messages.OFFERS_KEY],
                timeout=POLL_TIMEOUT_S,
            )
            if popped is not None:
                self._answering += 1
                asyncio.create_task(self._answer(json.loads(popped[1])))

    def full(self) -> bool:
        """At PROCTOR_INGEST_MAX_SESSIONS, one more session would starve all the others."""
        limit = settings.PROCTOR_INGEST_MAX_SESSIONS
        return bool(limit) and len(self.sessions) + self._answering >= limit

    async def _serve_control(self) -> None:
        key = messages.CONTROL_KEY.format(node=self.node)
        while True:
            popped = await self._redis.blpop([key], timeout=POLL_TIMEOUT_S)
            if popped is None:
                continue
            message = json.loads(popped[1])
            session = self.sessions.get(message.get("session_id"))
            if session is None:
                continue
            op = message.get("op")
            if op == messages.ControlOp.CLOSE:
                session.close(message.get("reason", "requested"))
            elif op == messages.ControlOp.PUSH:
                session.push(message.get("message", {}))
            elif op == messages.ControlOp.SAMPLE_NOW:
                session.sample_video_now()

    async def _reply(self, message: dict, body: dict) -> None:
        key = message["reply_to"]
        await self._redis.rpush(key, json.dumps(body))
        await self._redis.expire(key, messages.REPLY_TTL_S)

    async def _answer(self, message: dict) -> None:
        try:
            await self._answer_offer(message)
        finally:
            self._answering -= 1

    async def _answer_offer(self, message: dict) -> None:
        if message.get("expires_at", 0) < time.time():
            logger.warning(
                "offer for session %s expired before it was answered", message["session_id"]
            )
            return
        try:
            recorder = _recorder_for(message)
        except Exception:  # the spool: a full or read-only disk is this node's fault
            await self._refuse_recording(message, None)
            return
        pc = RTCPeerConnection(configuration=ice.rtc_configuration())
        session = IngestSession(
            session_id=message["session_id"],
            pc=pc,
            publisher=self._publisher,
            on_closed=self._session_closed,
            recorder=recorder,
            roles=message.get("roles"),
            analyse=message.get("analyse"),
        )
        pc.on("track", session.add_track)
        pc.on("connectionstatechange", session.on_state_change)
        pc.on("datachannel", session.attach_events)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(**message["offer"]))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:  # aiortc raises several types for a bad offer
            reason = refusal_message(exc)
            # Closed before anything else awaits: aiortc has scheduled its connect task already,
            # which, let run on a half-read offer, fails and logs a traceback at ERROR.
            await _close_refused(pc)
            refusal = {"ok": False, "code": messages.REFUSED_INVALID_SDP, "message": reason}
            await self._reply(message, refusal)
            return
        if recorder is not None:
            try:
                await recorder.start()
            except Exception:
                await self._refuse_recording(message, pc)
                return
        self.sessions[session.session_id] = session
        session.start_watchdog()
        sdp = shape_answer(pc.localDescription.sdp, roles=message.get("roles"), policy=_policy())
        answer = {"type": pc.localDescription.type, "sdp": sdp}
        await self._reply(message, {"ok": True, "node": self.node, "answer": answer})

    async def _refuse_recording(self, message: dict, pc: RTCPeerConnection | None) -> None:
        """A recording this node cannot write is its own fault, not the offer's: the web answers
        503 and the agent tries again (maybe on another node); never a 400 invalid_sdp."""
        logger.exception("session %s: the recording could not be started", message["session_id"])
        body = {
            "ok": False,
            "code": messages.REFUSED_RECORDING,
            "message": "This media ingest cannot record the session now; try again shortly.",
        }
        if pc is not None:
            await _close_refused(pc)  # first, as for a bad offer
        await self._reply(message, body)

    async def _session_closed(self, session: IngestSession, reason: str) -> None:
        self.sessions.pop(session.session_id, None)
        ended_at = dt.datetime.now(dt.UTC).isoformat()
        recording = await asyncio.to_thread(_store_recording, session)
        report = messages.session_closed(
            session_id=session.session_id,
            samples_enqueued=session.enqueued,
            reason=reason,
            ended_at=ended_at,
            dropped=session.dropped,
            delivered=session.delivered_spans(),
            recording=recording,
            bad_messages=session.bad_messages,
        )
        self._publisher.session_closed(report=report)


def _policy() -> AnswerPolicy:
    return AnswerPolicy(
        audio_ptime_ms=settings.PROCTOR_ANSWER_AUDIO_PTIME_MS,
        camera_kbps=settings.PROCTOR_ANSWER_CAMERA_KBPS,
        screen_kbps=settings.PROCTOR_ANSWER_SCREEN_KBPS,
    )


async def _close_refused(pc: RTCPeerConnection) -> None:
    """Close the connection of a refused offer, within a bound: the web waits for the refusal.
    aiortc may fail to close one that a bad offer left half set up; log that and carry on."""
    # No session was opened: the "closed" state change must not start a session's close.
    pc.remove_all_listeners("connectionstatechange")
    try:
        async with asyncio.timeout(CLOSE_REFUSED_TIMEOUT_S):
            await pc.close()
    except Exception as exc:
        logger.warning("closing the connection of a refused offer failed: %r", exc)


def refusal_message(exc: Exception) -> str:
    """What the agent is told about an offer aiortc refused: aiortc's own reason when it raised
    one of its errors for the offer (or a ValueError from parsing it), on one bounded line; for
    anything else (an AttributeError inside aiortc, say) no internals, only the type."""
    if isinstance(exc, OFFER_ERRORS) and str(exc).strip():
        detail = " ".join(str(exc).split())
        if len(detail) > MAX_REFUSAL_DETAIL:
            detail = detail[: MAX_REFUSAL_DETAIL - 1] + "…"
    else:
        detail = f"aiortc could not negotiate it ({type(exc).__name__})"
    return f"The SDP offer could not be used: {detail}"


def _recorder_for(message: dict) -> SessionRecorder | None:
    if not message.get("record"):
        return None
    return SessionRecorder(RECORDING_SPOOL / f"{message['session_id']}.webm")


def _store_recording(session: IngestSession) -> str | None:
    """Hand the spooled recording to the storage backend (S3-compatible storage by setting), and
    return its stored name for the close report. A recording that cannot be stored stays in the
    spool for the operator, and the failure is logged."""
    if session.recording is None:
        return None
    folder = dt.datetime.now(dt.UTC).strftime(messages.RECORDING_FOLDER)
    try:
        with session.recording.open("rb") as stream:
            stored = default_storage.save(f"{folder}/{session.recording.name}", File(stream))
    except OSError:
        logger.exception("session %s: the recording could not be stored", session.session_id)
        return None
    session.recording.unlink(missing_ok=True)
    return stored
