"""Hands samples to Celery: encoding on a worker thread, sending through the outbox.

Both stay off the event loop. Video frames and audio windows of every session go out in batches
of ANALYZE_SAMPLES (PROCTOR_BATCH_*); photos, agent events and close reports go one by one. Every
returned future resolves to True once its message reached the broker, or False when it was
dropped after the outbox's hold time. Tasks are sent by name (proctoring.messages): the media
process never imports the workers' code.
"""

import base64
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import av
import cv2
from celery import current_app
from django.conf import settings

from proctoring import messages
from proctoring.ingest.outbox import Batching, Outbox, OutboxMessage
from proctoring.ingest.sampling import AudioWindow

logger = logging.getLogger(__name__)


class SamplePublisher:
    def __init__(self) -> None:
        # One encoding thread keeps each session's samples in order and bounds the work.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode")
        self._outbox = Outbox(
            send=send_task,
            hold_s=settings.PROCTOR_INGEST_HOLD_S,
            max_bytes=settings.PROCTOR_INGEST_HOLD_BYTES,
            batching=Batching(
                window_s=settings.PROCTOR_BATCH_WINDOW_S,
                max_items=settings.PROCTOR_BATCH_MAX_ITEMS,
                max_bytes=settings.PROCTOR_BATCH_MAX_BYTES,
            ),
        )
        self._quality = [int(cv2.IMWRITE_JPEG_QUALITY), settings.PROCTOR_JPEG_QUALITY]

    def _submit(self, build: Callable[[], OutboxMessage]) -> Future:
        result: Future = Future()

        def encode_and_queue() -> None:
            try:
                message = build()
            except Exception as exc:
                result.set_exception(exc)
                return
            sent = self._outbox.put(message)
            sent.add_done_callback(lambda done: result.set_result(done.result()))

        self._executor.submit(encode_and_queue)
        return result

    def video(
        self,
        *,
        session_id: str,
        seq: int,
        media_time: float,
        duration_s: float,
        frame: av.VideoFrame,
        urgent: bool = False,
    ) -> Future:
        """`urgent`: the batch holding this sample leaves without waiting out its window."""

        def build() -> OutboxMessage:
            jpeg = self._jpeg_b64(frame)
            message = _sample(
                messages.SampleKind.VIDEO, session_id, seq, media_time, duration_s, jpeg
            )
            message.urgent = urgent
            return message

        return self._submit(build)

    def audio(self, *, session_id: str, window: AudioWindow) -> Future:
        def build() -> OutboxMessage:
            pcm = base64.b64encode(window.pcm.tobytes()).decode()
            return _sample(
                messages.SampleKind.AUDIO,
                session_id,
                window.seq,
                window.media_time,
                window.duration_s,
                pcm,
            )

        return self._submit(build)

    def photo(
        self, *, session_id: str, media_time: float, kind: str, reason: str, frame: av.VideoFrame
    ) -> Future:
        def build() -> OutboxMessage:
            jpeg = self._jpeg_b64(frame)
            args = [session_id, media_time, kind, reason, jpeg]
            return OutboxMessage(task=messages.STORE_PHOTO, size=len(jpeg), args=args)

        return self._submit(build)

    def agent_event(
        self, *, session_id: str, key: str, code: int, received_at: str, detail: dict
    ) -> Future:
        def build() -> OutboxMessage:
            args = [session_id, key, code, received_at, detail]
            # Durable: a switch away is evidence, and it has no sample gap to show its loss.
            return OutboxMessage(
                task=messages.RECORD_AGENT_EVENT, size=len(str(detail)), args=args, durable=True
            )

        return self._submit(build)

    def session_closed(self, *, report: dict) -> Future:
        """`report` is messages.session_closed(); durable, because finalize waits for it."""

        def build() -> OutboxMessage:
            return OutboxMessage(
                task=messages.MEDIA_SESSION_CLOSED,
                size=len(str(report)),
                args=[report],
                durable=True,
            )

        return self._submit(build)

    def _jpeg_b64(self, frame: av.VideoFrame) -> str:
        # The one decode to pixels happens here, then JPEG for the broker message.
        ok, jpeg = cv2.imencode(".jpg", frame.to_ndarray(format="bgr24"), self._quality)
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return base64.b64encode(jpeg.tobytes()).decode()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)
        self._outbox.close()


def send_task(name: str, args: list) -> None:
    # No retry inside kombu: the outbox's hold time is the one retry policy.
    current_app.send_task(name, args=args, retry=False)


def _sample(
    kind: str, session_id: str, seq: int, media_time: float, duration_s: float, content: str
) -> OutboxMessage:
    item = messages.sample_item(
        kind=kind,
        session_id=session_id,
        seq=seq,
        media_time=media_time,
        duration_s=duration_s,
        content=content,
    )
    return OutboxMessage(task=messages.ANALYZE_SAMPLES, size=len(content), item=item)
