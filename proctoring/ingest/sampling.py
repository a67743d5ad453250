"""Media clocks and samplers: which frames and audio windows go to analysis, at what media time."""

import time
from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np

RTP_TIMESTAMP_MODULO = 1 << 32
ANALYSIS_SAMPLE_RATE = 16000
# A frame this close before the next sampling instant is taken for it (jitter in pts).
SAMPLE_TOLERANCE_S = 0.02
# An early sample is taken at least this long after the previous one.
EARLY_MIN_GAP_S = 0.25
# A trailing audio window shorter than this at the end of a session is not worth analysing.
MIN_TAIL_WINDOW_S = 0.25


class TrackClock:
    """A track's media time from RTP-derived pts (random origin, 32-bit wrap).

    Anchored at `started_at` (the session's start, time.monotonic()): the first frame's media
    time is how long after the start it arrived, so the time before media flows is visible (to
    coverage) instead of folded into zero. Without an anchor, media time starts at 0.
    """

    def __init__(self, started_at: float | None = None) -> None:
        self._started_at = started_at
        self._first: int | None = None
        self._origin = 0.0

    def seconds(self, pts: int, time_base: Fraction) -> float:
        if self._first is None:
            self._first = pts
            if self._started_at is not None:
                self._origin = max(0.0, time.monotonic() - self._started_at)
        ticks = (pts - self._first) % RTP_TIMESTAMP_MODULO
        return self._origin + float(ticks * time_base)


class SpanRecorder:
    """The media-time spans a stream delivered, merged as they come (frames arrive in order)."""

    def __init__(self, *, join_within_s: float = 0.25) -> None:
        self._join = join_within_s
        self.spans: list[list[float]] = []

    def add(self, start: float, end: float) -> None:
        if self.spans and start <= self.spans[-1][1] + self._join:
            self.spans[-1][1] = max(self.spans[-1][1], end)
        else:
            self.spans.append([start, end])


class FrameSampler:
    """Takes one frame per interval on a grid of media time (0, 1/fps, 2/fps, ...).

    On request (`take_next_early`) it takes the next frame at once and restarts the grid there:
    K-of-N smoothing needs a second flagged sample to confirm a violation, and waiting for the
    grid would add up to a whole interval to the violation's latency.
    """

    def __init__(self, fps: float) -> None:
        self.interval = 1.0 / fps
        self.next_time = 0.0
        self.seq = 0
        self.early_requested = False
        self.last_was_early = False  # the last frame taken was an early sample
        self._origin = 0.0
        self._last: float | None = None

    def take_next_early(self) -> None:
        self.early_requested = True

    def take(self, media_time: float) -> int | None:
        """The sample's sequence number when this frame is taken, else None."""
        self.last_was_early = self._takes_early(media_time)
        if self.last_was_early:
            self.early_requested = False
            self._origin = media_time
            self.next_time = media_time + self.interval
        elif media_time + SAMPLE_TOLERANCE_S < self.next_time:
            return None
        else:
            # Stay on the grid even after a gap in the stream.
            slots = int((media_time - self._origin + SAMPLE_TOLERANCE_S) / self.interval) + 1
            on_grid = self._origin + slots * self.interval
            self.next_time = max(self.next_time + self.interval, on_grid)
        self._last = media_time
        seq = self.seq
        self.seq += 1
        return seq

    def _takes_early(self, media_time: float) -> bool:
        # Not the frame right after the last sample: two near-identical frames confirm nothing.
        too_close = self._last is not None and media_time - self._last < EARLY_MIN_GAP_S
        return self.early_requested and not too_close


@dataclass
class AudioWindow:
    seq: int
    media_time: float
    pcm: np.ndarray  # int16, mono, 16 kHz
    # The audio just before this window (up to AudioWindower.context_s; empty by default): what
    # the VAD warms up on when it has no carry from the window before (analysis/audio.py).
    context: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / ANALYSIS_SAMPLE_RATE


@dataclass
class AudioWindower:
    """Resamples decoded audio once to 16 kHz mono and cuts it into fixed windows."""

    window_s: float
    context_s: float = 0.0  # seconds of preceding audio each window carries as its context
    _resampler: av.AudioResampler = field(init=False)
    _chunks: list[np.ndarray] = field(default_factory=list, init=False)
    _buffered: int = field(default=0, init=False)
    _start: float | None = field(default=None, init=False)
    _seq: int = field(default=0, init=False)
    _before: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16), init=False)

    def __post_init__(self) -> None:
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=ANALYSIS_SAMPLE_RATE)
        self._size = int(round(self.window_s * ANALYSIS_SAMPLE_RATE))
        self._context_size = int(round(self.context_s * ANALYSIS_SAMPLE_RATE))

    def push(self, frame: av.AudioFrame, media_time: float) -> list[AudioWindow]:
        if self._start is None:
            self._start = media_time
        for out in self._resampler.resample(frame):
            pcm = out.to_ndarray().reshape(-1)
            self._chunks.append(pcm)
            self._buffered += len(pcm)
        windows = []
        while self._buffered >= self._size:
            windows.append(self._cut(self._size))
        return windows

    def flush(self) -> AudioWindow | None:
        if self._buffered < MIN_TAIL_WINDOW_S * ANALYSIS_SAMPLE_RATE:
            return None
        return self._cut(self._buffered)

    def _cut(self, size: int) -> AudioWindow:
        data = np.concatenate(self._chunks)
        pcm = data[:size].copy()
        window = AudioWindow(seq=self._seq, media_time=self._start, pcm=pcm, context=self._before)
        if self._context_size:
            self._before = np.concatenate([self._before, pcm])[-self._context_size :]
        rest = data[size:]
        self._chunks = [rest] if len(rest) else []
        self._buffered = len(rest)
        self._start += size / ANALYSIS_SAMPLE_RATE
        self._seq += 1
        return window
