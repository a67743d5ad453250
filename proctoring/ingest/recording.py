"""recordSession: the webcam and microphone written to a WebM file with aiortc's MediaRecorder."""

import logging
from pathlib import Path

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRecorder, MediaRelay

logger = logging.getLogger(__name__)


class SessionRecorder:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # The relay gives the recorder and the samplers each their own copy of every frame.
        self._relay = MediaRelay()
        self._recorder = MediaRecorder(str(path), format="webm")
        self._kinds: set[str] = set()

    def tap(self, track: MediaStreamTrack) -> MediaStreamTrack:
        """Record the first track of each kind (webcam, microphone); return one for analysis."""
        if track.kind in self._kinds:
            return track
        self._kinds.add(track.kind)
        self._recorder.addTrack(self._relay.subscribe(track))
        return self._relay.subscribe(track)

    async def start(self) -> None:
        await self._recorder.start()

    async def stop(self) -> Path | None:
        try:
            await self._recorder.stop()
        except Exception:  # a recording must never keep the session from closing
            logger.exception("recording %s could not be finished", self.path)
            return None
        return self.path if self.path.exists() and self.path.stat().st_size else None
