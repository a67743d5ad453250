"""A fake camera written at run time: 1 face for ONE_FACE_S, then 2 faces, looped by the agent."""

from pathlib import Path

import cv2

from bench.env import MEDIA_DIR

FPS = 5  # the agent forwards at most 5 frames/s anyway (agent.tracks.DEFAULT_MAX_FPS)
WIDTH, HEIGHT = 640, 480
# The onset falls at a different phase of the 1 s sampling grid on every loop (x.8, x.2, x.6,
# x.0, x.4 s), so the sampling delay is covered evenly. 1-face stretches are longer than the
# 2 s merge gap, so every 2-face stretch is a new violation.
ONE_FACE_S = 5.8
TWO_FACES_S = 3.6
PERIOD_S = ONE_FACE_S + TWO_FACES_S
ONE_FACE_IMAGE = "astronaut.png"
TWO_FACES_IMAGE = "two_faces.png"
Y4M_HEADER = f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode()


def i420(name: str) -> bytes:
    from proctoring.analysis.vision import letterbox

    bgr = letterbox(cv2.imread(str(MEDIA_DIR / name)), size=(WIDTH, HEIGHT))
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes()


def write_camera(directory: Path) -> Path:
    """One loop of the fake camera as Y4M (about 22 MB) in `directory`."""
    path = directory / "one_then_two_faces.y4m"
    one, two = i420(ONE_FACE_IMAGE), i420(TWO_FACES_IMAGE)
    with path.open("wb") as out:
        out.write(Y4M_HEADER)
        for _ in range(round(ONE_FACE_S * FPS)):
            out.write(b"FRAME\n" + one)
        for _ in range(round(TWO_FACES_S * FPS)):
            out.write(b"FRAME\n" + two)
    return path
