"""Hands samples to Celery: encoding on a worker thread, sending through the outbox.

Both stay off the event loop. Video frames and audio windows of every session go out in batches
of `analyze_samples` (PROCTOR_BATCH_*); photos and agent events go one by one. Every returned
future resolves to True once its message reached the broker, or False when it was dropped after
the outbox's hold time.
"""

import base64
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import av
import cv2
from django.conf import settings

from proctoring.ingest.outbox import Batching, Outbox, OutboxMessage
from proctoring.ingest.sampling import AudioWindow
from proctoring.models import ObservationKind
from proctoring.tasks import analyze_samples, record_agent_event, sample_item, store_photo

logger = logging.getLogger(__name__)


class SamplePublisher:
    def __init__(self) -> None:
        # One encoding thread keeps each session's samples in order and bounds the work.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode")
        self._outbox = Outbox(
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
            message = _sample(ObservationKind.VIDEO, session_id, seq, media_time, duration_s, jpeg)
            message.urgent = urgent
            return message

        return self._submit(build)

    def audio(self, *, session_id: str, window: AudioWindow) -> Future:
        def build() -> OutboxMessage:
            pcm = base64.b64encode(window.pcm.tobytes()).decode()
            return _sample(
                ObservationKind.AUDIO,
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
            return OutboxMessage(task=store_photo, size=len(jpeg), args=args)

        return self._submit(build)

    def agent_event(
        self, *, session_id: str, key: str, code: int, received_at: str, detail: dict
    ) -> Future:
        def build() -> OutboxMessage:
            args = [session_id, key, code, received_at, detail]
            return OutboxMessage(task=record_agent_event, size=len(str(detail)), args=args)

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


def _sample(
    kind: str, session_id: str, seq: int, media_time: float, duration_s: float, content: str
) -> OutboxMessage:
    """One item of an `analyze_samples` batch (the task documents the fields)."""
    item = sample_item(kind, session_id, seq, media_time, duration_s, content)
    return OutboxMessage(task=analyze_samples, size=len(content), item=item)
