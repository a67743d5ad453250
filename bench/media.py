"""A fake camera written at run time: cycles of 1 face then 2 faces, looped by the agent.

The ingest samples one frame a second on a grid that restarts at every early sample (the one
that confirms a violation: `proctoring.ingest.sampling.FrameSampler`). With one fixed period
every onset would then meet the grid at the same phase, and the latency figures would show one
phase only. So each cycle's 1-face stretch is longer by 0, 0.1, ... or 0.9 s (each once), in
an order shuffled once with a fixed seed: onsets fall at spread phases of the grid and of the
agent's 2 fps frames, as a candidate's do.
"""

import bisect
import random
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2

from bench.env import MEDIA_DIR

# The file's rate: the agent forwards 2 of its frames a second (agent.tracks.DEFAULT_MAX_FPS),
# evenly; at 5 its limiter would take every third frame (0.6 s apart).
FPS = 10
PHASE_STEP_S = 0.1
PHASES = 10  # 0 to 0.9 s: the phases of the 1 s grid, one file frame apart
WIDTH, HEIGHT = 640, 480
# 1-face stretches are longer than the 2 s merge gap, so every 2-face stretch is a new violation.
ONE_FACE_S = 5.8  # the shortest
TWO_FACES_S = 3.6
CYCLES = 10
SEED = 7
ONE_FACE_IMAGE = "astronaut.png"
TWO_FACES_IMAGE = "two_faces.png"
Y4M_HEADER = f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode()
# Frames sit on a 1/fps grid; this absorbs float error in pts * time_base.
EPSILON_S = 1e-3


@dataclass(frozen=True)
class Pattern:
    """Per cycle: `one_face_s[i]` of one face, then `two_faces_s` of two; the cycles loop."""

    one_face_s: tuple[float, ...]
    two_faces_s: float

    @cached_property
    def _starts(self) -> list[float]:
        """Media time at which each cycle starts within one loop, and the loop's end."""
        starts = [0.0]
        for one in self.one_face_s:
            starts.append(starts[-1] + one + self.two_faces_s)
        return starts

    @property
    def loop_s(self) -> float:
        return self._starts[-1]

    @property
    def cycles(self) -> int:
        return len(self.one_face_s)

    def onset_time(self, index: int) -> float:
        """Media time of the `index`-th 1 -> 2-face onset, counting over loops."""
        loop, cycle = divmod(index, self.cycles)
        return loop * self.loop_s + self._starts[cycle] + self.one_face_s[cycle]

    def onset_before(self, media_time: float) -> int:
        """Index of the last onset at or before `media_time` (-1 before the first)."""
        loop, within = divmod(media_time + EPSILON_S, self.loop_s)
        cycle = bisect.bisect_right(self._starts, within) - 1
        index = int(loop) * self.cycles + cycle
        return index if within >= self._starts[cycle] + self.one_face_s[cycle] else index - 1

    def two_faces_at(self, media_time: float) -> bool:
        index = self.onset_before(media_time)
        return index >= 0 and media_time + EPSILON_S < self.onset_time(index) + self.two_faces_s

    def frames(self, fps: float) -> list[bool]:
        """One loop at `fps`: for each frame, whether it shows two faces."""
        return [self.two_faces_at(i / fps) for i in range(round(self.loop_s * fps))]


def _pattern() -> Pattern:
    phases = [cycle % PHASES for cycle in range(CYCLES)]  # each phase equally often
    random.Random(SEED).shuffle(phases)
    return Pattern(tuple(ONE_FACE_S + k * PHASE_STEP_S for k in phases), TWO_FACES_S)


PATTERN = _pattern()


def i420(name: str) -> bytes:
    from proctoring.analysis.vision import letterbox

    bgr = letterbox(cv2.imread(str(MEDIA_DIR / name)), size=(WIDTH, HEIGHT))
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes()


def write_camera(directory: Path) -> Path:
    """One loop of the fake camera as Y4M (about 450 MB) in `directory`."""
    path = directory / "one_then_two_faces.y4m"
    one, two = i420(ONE_FACE_IMAGE), i420(TWO_FACES_IMAGE)
    with path.open("wb") as out:
        out.write(Y4M_HEADER)
        for two_faces in PATTERN.frames(FPS):
            out.write(b"FRAME\n" + (two if two_faces else one))
    return path
