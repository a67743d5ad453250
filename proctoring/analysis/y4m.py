"""Read YUV4MPEG2 (4:2:0) video into BGR frames with numpy and OpenCV alone, no ffmpeg."""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np

from proctoring.analysis.errors import AnalysisError

__all__ = ["Y4mInfo", "read_y4m", "y4m_info"]

SIGNATURE = b"YUV4MPEG2"
FRAME_MARKER = b"FRAME"
# Header and frame lines are a few dozen bytes; a longer line means the file is not Y4M.
MAX_LINE_BYTES = 1024
# The spec's default colour space when the C tag is absent is 4:2:0.
DEFAULT_COLORSPACE = "420jpeg"
DEFAULT_FPS = Fraction(25)


@dataclass(frozen=True)
class Y4mInfo:
    """The stream parameters from a Y4M header."""

    width: int
    height: int
    fps: Fraction
    colorspace: str

    @property
    def frame_bytes(self) -> int:
        # A full-size Y plane, then U and V at half width and half height.
        return self.width * self.height * 3 // 2


def y4m_info(path: str | os.PathLike[str]) -> Y4mInfo:
    """The header of a Y4M file."""
    with Path(path).open("rb") as stream:
        return _read_header(stream)


def read_y4m(path: str | os.PathLike[str], *, step: int = 1) -> Iterator[np.ndarray]:
    """BGR uint8 frames of a 4:2:0 Y4M file; `step` > 1 yields every step-th frame only."""
    if step < 1:
        raise AnalysisError(f"step must be at least 1, got {step}")
    with Path(path).open("rb") as stream:
        info = _read_header(stream)
        index = 0
        while marker := stream.readline(MAX_LINE_BYTES):
            if not marker.startswith(FRAME_MARKER):
                raise AnalysisError(f"{path}: expected a FRAME marker, got {marker[:16]!r}")
            if index % step:
                stream.seek(info.frame_bytes, os.SEEK_CUR)
            else:
                yield _to_bgr(stream.read(info.frame_bytes), info=info, path=path)
            index += 1


def _read_header(stream: BinaryIO) -> Y4mInfo:
    tokens = stream.readline(MAX_LINE_BYTES).split()
    if not tokens or tokens[0] != SIGNATURE:
        raise AnalysisError("not a YUV4MPEG2 file")
    tags = {token[:1].decode(): token[1:].decode() for token in tokens[1:]}
    try:
        width, height = int(tags["W"]), int(tags["H"])
    except (KeyError, ValueError) as error:
        raise AnalysisError(f"Y4M header lacks a valid width or height: {error}") from error
    colorspace = tags.get("C", DEFAULT_COLORSPACE)
    if not colorspace.startswith("420"):
        raise AnalysisError(f"only 4:2:0 Y4M is supported, got C{colorspace}")
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise AnalysisError(f"Y4M frame size {width}x{height} must be positive and even")
    return Y4mInfo(width=width, height=height, fps=_fps(tags.get("F")), colorspace=colorspace)


def _fps(tag: str | None) -> Fraction:
    if tag is None:
        return DEFAULT_FPS
    numerator, _, denominator = tag.partition(":")
    try:
        return Fraction(int(numerator), int(denominator or 1))
    except (ValueError, ZeroDivisionError) as error:
        raise AnalysisError(f"invalid Y4M frame rate F{tag}") from error


def _to_bgr(data: bytes, *, info: Y4mInfo, path: str | os.PathLike[str]) -> np.ndarray:
    if len(data) != info.frame_bytes:
        raise AnalysisError(f"{path}: truncated frame ({len(data)} of {info.frame_bytes} bytes)")
    planes = np.frombuffer(data, dtype=np.uint8).reshape(info.height * 3 // 2, info.width)
    return cv2.cvtColor(planes, cv2.COLOR_YUV2BGR_I420)
