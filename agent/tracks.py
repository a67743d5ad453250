"""Media tracks: a file looped forever with continuous timestamps, and a frame-rate limiter."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

logger = logging.getLogger(__name__)

# The server analyses one frame a second. Two a second keep a frame within half a second of any
# moment (for the early confirmation sample too) at 40 % of the packets and decodes of five.
DEFAULT_MAX_FPS = 2.0
# A recorded session (trackingOptions.recordSession) is watched by people: it is sent at 5.
RECORDING_MAX_FPS = 5.0

# A still image (a file whose every pass is one frame) is sent as this many frames a second: more
# than any rate limit downstream, so the limiter still chooses which go out.
STILL_IMAGE_FPS = 10
# Files play in real time, so that media time (what the server's timeline is built on) is wall
# time. aiortc's MediaPlayer alone runs up to 1 s ahead on each pass, and a still image, one frame
# a pass, as fast as it can be reopened. Off only for tests that read frames faster.
PACE_FILES = True

PlayerFactory = Callable[[str], MediaPlayer]


class LoopingFileTrack(MediaStreamTrack):
    """Plays a media file forever, in real time, by reopening it at its end, pts monotonic.

    aiortc's own `MediaPlayer(loop=True)` restarts video pts at 0 after each pass and then stops
    throttling, decoding thousands of frames per second into an unbounded queue. A fresh player
    per pass keeps aiortc's pacing; we only shift each pass's timestamps, and hold each frame
    until its media time has come on the wall clock. A still image (a pass of one video frame)
    is decoded once and repeated at STILL_IMAGE_FPS.
    """

    def __init__(self, path: str, kind: str, factory: PlayerFactory = MediaPlayer) -> None:
        super().__init__()
        self.kind = kind
        self._path = path
        self._factory = factory
        self._player: MediaPlayer | None = None
        self._offset = 0
        self._next_pts = 0
        self._last_pts: int | None = None
        self._pass_frames = 0
        self._last_frame: Any = None
        self._still: Any = None
        self._clock_zero: float | None = None
        self.passes = 0

    def _current(self) -> MediaStreamTrack:
        if self._player is None:
            self._player = self._factory(self._path)
            self._offset = self._next_pts
            self._pass_frames = 0
            self.passes += 1
        track = self._player.video if self.kind == "video" else self._player.audio
        if track is None:
            raise MediaStreamError
        return track

    def _close_player(self) -> None:
        player, self._player = self._player, None
        for track in (player.audio, player.video) if player else ():
            if track is not None:
                track.stop()

    def _retime(self, frame: Any) -> Any:
        pts = self._offset + frame.pts
        if self.kind == "audio":
            step = frame.samples
        else:
            step = pts - self._last_pts if self._last_pts is not None else 1
        frame.pts = pts
        self._last_pts = pts
        self._next_pts = pts + max(step, 1)
        return frame

    def _repeat_still(self) -> Any:
        frame = self._still
        step = max(int(1 / (STILL_IMAGE_FPS * frame.time_base)), 1)
        frame.pts = self._next_pts
        self._next_pts += step
        return frame

    async def _pace(self, frame: Any) -> Any:
        """Hold the frame until its media time has come (the first frame sets the clock)."""
        if not PACE_FILES:
            return frame
        media_s = float(frame.pts * frame.time_base)
        now = time.monotonic()
        if self._clock_zero is None:
            self._clock_zero = now - media_s
        delay = self._clock_zero + media_s - now
        if delay > 0:
            await asyncio.sleep(delay)
        return frame

    async def _next_frame(self) -> Any:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            if self._still is not None:
                return self._repeat_still()
            track = self._current()
            try:
                frame = await track.recv()
            except MediaStreamError:
                if self.readyState != "live":
                    raise
                # End of this pass: start the next one where this one ended.
                self._close_player()
                if self.kind == "video" and self._pass_frames == 1 and self._last_frame:
                    self._still = self._last_frame  # a still image: no need to decode it again
                continue
            self._pass_frames += 1
            self._last_frame = frame
            return self._retime(frame)

    async def recv(self) -> Any:
        return await self._pace(await self._next_frame())

    def stop(self) -> None:
        super().stop()
        self._close_player()


class RateLimitedVideoTrack(MediaStreamTrack):
    """Forwards at most `max_fps` frames per second of media time, dropping the rest.

    The server analyses about one frame per second, so fewer frames means fewer packets, less
    encoding on the candidate's machine and less per-packet work at the ingest. Timestamps are
    passed through unchanged (original time base, still monotonic). `send_next_frame()` lets one
    frame through early, for a server that wants a frame now rather than at the next interval.
    """

    kind = "video"

    def __init__(
        self,
        source: MediaStreamTrack,
        max_fps: float = DEFAULT_MAX_FPS,
        track_id: str | None = None,
    ) -> None:
        super().__init__()
        if track_id is not None:
            # The id is the msid's track part in the SDP: how the server tells tracks apart.
            self._id = track_id
        if max_fps <= 0:
            raise ValueError("max_fps must be positive")
        self._source = source
        self._interval = 1 / Fraction(max_fps)
        self._last_time: Fraction | None = None
        self._send_next = False
        self.forwarded = 0
        self.dropped = 0

    def send_next_frame(self) -> None:
        """Forward the next source frame whatever the interval; the interval restarts from it."""
        self._send_next = True

    def _is_due(self, media_time: Fraction) -> bool:
        last = self._last_time
        # A pts going backwards (a restarted source) must not hold frames back for a whole interval.
        return last is None or media_time - last >= self._interval or media_time < last

    async def recv(self) -> Any:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            try:
                frame = await self._source.recv()
            except MediaStreamError:
                self.stop()  # emits "ended", so a lost device is noticed
                raise
            media_time = Fraction(frame.pts) * frame.time_base
            if self._send_next or self._is_due(media_time):
                self._send_next = False
                self._last_time = media_time
                self.forwarded += 1
                return frame
            self.dropped += 1

    def stop(self) -> None:
        super().stop()
        self._source.stop()
