"""Hands samples to Celery from a thread, keeping encoding and broker I/O off the event loop."""

import base64
import logging
from concurrent.futures import Future, ThreadPoolExecutor

import av
import cv2
from django.conf import settings

from proctoring.ingest.sampling import AudioWindow
from proctoring.tasks import (
    analyze_audio_window,
    analyze_video_frame,
    record_agent_event,
    store_photo,
)

logger = logging.getLogger(__name__)


class SamplePublisher:
    def __init__(self) -> None:
        # One thread keeps each session's samples in order and bounds the work per process.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish")
        self._quality = [int(cv2.IMWRITE_JPEG_QUALITY), settings.PROCTOR_JPEG_QUALITY]

    def video(
        self,
        *,
        session_id: str,
        seq: int,
        media_time: float,
        duration_s: float,
        frame: av.VideoFrame,
    ) -> Future:
        return self._executor.submit(
            self._publish_video, session_id, seq, media_time, duration_s, frame
        )

    def audio(self, *, session_id: str, window: AudioWindow) -> Future:
        return self._executor.submit(self._publish_audio, session_id, window)

    def photo(
        self, *, session_id: str, media_time: float, kind: str, reason: str, frame: av.VideoFrame
    ) -> Future:
        return self._executor.submit(
            self._publish_photo, session_id, media_time, kind, reason, frame
        )

    def agent_event(
        self, *, session_id: str, key: str, code: int, received_at: str, detail: dict
    ) -> Future:
        return self._executor.submit(
            record_agent_event.apply_async, args=[session_id, key, code, received_at, detail]
        )

    def _jpeg_b64(self, frame: av.VideoFrame) -> str:
        # The one decode to pixels happens here, then JPEG for the broker message.
        ok, jpeg = cv2.imencode(".jpg", frame.to_ndarray(format="bgr24"), self._quality)
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return base64.b64encode(jpeg.tobytes()).decode()

    def _publish_video(self, session_id, seq, media_time, duration_s, frame) -> None:
        payload = self._jpeg_b64(frame)
        analyze_video_frame.apply_async(args=[session_id, seq, media_time, duration_s, payload])

    def _publish_photo(self, session_id, media_time, kind, reason, frame) -> None:
        store_photo.apply_async(args=[session_id, media_time, kind, reason, self._jpeg_b64(frame)])

    def _publish_audio(self, session_id: str, window: AudioWindow) -> None:
        payload = base64.b64encode(window.pcm.tobytes()).decode()
        analyze_audio_window.apply_async(
            args=[session_id, window.seq, window.media_time, window.duration_s, payload]
        )

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)
