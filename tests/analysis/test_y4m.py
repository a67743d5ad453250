"""The numpy Y4M reader used for the fake camera."""

from fractions import Fraction

import numpy as np
import pytest

from proctoring.analysis.errors import AnalysisError
from proctoring.analysis.y4m import read_y4m, y4m_info

FAKE_CAMERA = "fake_camera_640x480_15fps_2s.y4m"


def write_y4m(path, *, width=4, height=2, frames=2, header_tags="C420jpeg", truncate=0):
    header = f"YUV4MPEG2 W{width} H{height} F15:1 Ip A1:1 {header_tags}\n".encode()
    frame = b"FRAME\n" + bytes([128]) * (width * height * 3 // 2)
    path.write_bytes((header + frame * frames)[: -truncate or None])
    return path


def test_reads_the_header_of_the_fake_camera(media_dir, expected):
    info = y4m_info(media_dir / FAKE_CAMERA)

    labels = expected["av"][FAKE_CAMERA]
    assert (info.width, info.height) == tuple(labels["size"])
    assert info.fps == Fraction(labels["fps"])


def test_reads_every_frame_as_bgr(media_dir, expected):
    frames = list(read_y4m(media_dir / FAKE_CAMERA))

    assert len(frames) == expected["av"][FAKE_CAMERA]["frames"]
    assert {frame.shape for frame in frames} == {(480, 640, 3)}
    assert {frame.dtype for frame in frames} == {np.dtype(np.uint8)}


def test_step_yields_every_nth_frame(tmp_path):
    path = write_y4m(tmp_path / "small.y4m", frames=7)

    assert len(list(read_y4m(path, step=3))) == 3


def test_neutral_chroma_gives_grey_pixels(tmp_path):
    [frame] = read_y4m(write_y4m(tmp_path / "grey.y4m", frames=1))

    # U = V = 128 is colourless, so the three channels agree; Y = 128 is mid-grey.
    assert np.ptp(frame, axis=2).max() == 0
    assert abs(int(frame[0, 0, 0]) - 128) <= 3


def test_a_truncated_frame_is_an_error(tmp_path):
    path = write_y4m(tmp_path / "cut.y4m", truncate=5)

    with pytest.raises(AnalysisError, match="truncated frame"):
        list(read_y4m(path))


def test_only_420_is_supported(tmp_path):
    path = write_y4m(tmp_path / "444.y4m", header_tags="C444")

    with pytest.raises(AnalysisError, match="only 4:2:0"):
        y4m_info(path)


def test_a_file_that_is_not_y4m_is_an_error(tmp_path):
    path = tmp_path / "not.y4m"
    path.write_bytes(b"RIFF....WAVEfmt ")

    with pytest.raises(AnalysisError, match="not a YUV4MPEG2 file"):
        y4m_info(path)
