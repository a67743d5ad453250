"""Source specs, device error mapping, and the looping and rate-limiting tracks."""

from __future__ import annotations

import errno
import time
from fractions import Fraction

import av
import pytest
from aiortc.mediastreams import MediaStreamTrack

from agent import AgentError, ErrorCode
from agent.screen import SCREEN_FPS, _grab_options
from agent.sources import classify_open_error, open_track, parse_source, probe_source
from agent.tracks import STILL_IMAGE_FPS, LoopingFileTrack, RateLimitedVideoTrack
from tests.agent.support import MEDIA_DIR, FakeFrame, FakePlayer, ListTrack, run

PACING_SLACK_S = 0.25
REAL_FILE_S = 2.0


@pytest.mark.parametrize(
    ("spec", "target", "fmt"),
    [
        ("v4l2:/dev/video0", "/dev/video0", "v4l2"),
        ("alsa:default", "default", "alsa"),
        ("pulse:default", "default", "pulse"),
        ("avfoundation:0", "0", "avfoundation"),
        ("avfoundation::0", ":0", "avfoundation"),
        ("dshow:video=Integrated Camera", "video=Integrated Camera", "dshow"),
        ("/tmp/cam.y4m", "/tmp/cam.y4m", None),
        ("C:\\media\\cam.y4m", "C:\\media\\cam.y4m", None),
    ],
)
def test_parse_source(spec, target, fmt):
    source = parse_source(spec, "video")
    assert (source.target, source.format, str(source)) == (target, fmt, spec)


@pytest.mark.parametrize(
    ("kind", "number", "code"),
    [
        ("video", errno.EBUSY, ErrorCode.CAMERA_NOT_READABLE),
        ("audio", errno.EBUSY, ErrorCode.MICROPHONE_NOT_READABLE),
        ("video", errno.EACCES, ErrorCode.CAMERA_BLOCKED),
        ("audio", errno.EACCES, ErrorCode.MICROPHONE_BLOCKED),
        ("video", errno.ENOENT, ErrorCode.NO_CAMERA),
        ("audio", errno.ENODEV, ErrorCode.NO_MICROPHONE),
    ],
)
def test_device_errors_map_to_sdk_codes(kind, number, code):
    source = parse_source("v4l2:/dev/video0", kind)
    assert classify_open_error(OSError(number, "x"), source).code is code


def test_busy_camera_message():
    error = classify_open_error(OSError(errno.EBUSY, "busy"), parse_source("v4l2:/dev/v0", "video"))
    assert error.message == "camera 'v4l2:/dev/v0' is busy (in use by another program)"


def test_missing_capture_format_is_incompatible_platform():
    # This FFmpeg build has no dshow (Windows) input, as on any Linux machine.
    formats = av.formats_available
    if "dshow" in formats:
        pytest.skip("dshow is available here")
    with pytest.raises(AgentError) as caught:
        probe_source(parse_source("dshow:video=Cam", "video"))
    assert caught.value.code is ErrorCode.INCOMPATIBLE_PLATFORM
    assert caught.value.message == (
        "camera format 'dshow' is not available on this platform: "
        "`autoproctor-agent doctor` lists those it has"
    )


def test_pulse_is_not_in_pyavs_ffmpeg_and_the_error_says_what_to_use():
    if "pulse" in av.formats_available:
        pytest.skip("this FFmpeg build has pulse")
    with pytest.raises(AgentError) as caught:
        probe_source(parse_source("pulse:default", "audio"))
    assert caught.value.message == (
        "microphone format 'pulse' is not available on this platform: use alsa:default "
        "(PulseAudio and PipeWire answer there)"
    )


async def _read(track: MediaStreamTrack, count: int) -> list[int]:
    return [(await track.recv()).pts for _ in range(count)]


def test_looping_video_keeps_pts_monotonic_across_passes(unpaced):
    def frames():
        return [FakeFrame(pts, Fraction(1, 15)) for pts in range(3)]

    track = LoopingFileTrack("f.y4m", "video", factory=lambda _: FakePlayer("video", frames))
    assert run(_read(track, 7)) == [0, 1, 2, 3, 4, 5, 6]
    assert track.passes == 3
    track.stop()


def test_looping_audio_continues_after_the_last_frame_samples(unpaced):
    def frames():
        return [FakeFrame(pts, Fraction(1, 48000), samples=960) for pts in (0, 960)]

    track = LoopingFileTrack("f.wav", "audio", factory=lambda _: FakePlayer("audio", frames))
    assert run(_read(track, 4)) == [0, 960, 1920, 2880]
    track.stop()


async def _timed_read(track: MediaStreamTrack, count: int) -> tuple[list[int], float]:
    """The pts of `count` frames (read as they come: a still image repeats one frame object)."""
    started = time.monotonic()
    pts = [(await track.recv()).pts for _ in range(count)]
    return pts, time.monotonic() - started


def test_a_file_plays_in_real_time_across_passes():
    def one_pass():
        return [FakeFrame(pts, Fraction(1, 10)) for pts in range(3)]

    track = LoopingFileTrack("f.y4m", "video", factory=lambda _: FakePlayer("video", one_pass))
    pts, elapsed = run(_timed_read(track, 11))
    track.stop()
    # Frame 10 is due one second after frame 0, however fast the player hands them over.
    assert pts == list(range(11)) and track.passes == 4
    assert 1.0 - PACING_SLACK_S <= elapsed <= 1.0 + PACING_SLACK_S


def test_a_still_image_is_decoded_once_and_repeated_in_real_time():
    def one_frame():
        return [FakeFrame(0, Fraction(1, 90_000))]

    track = LoopingFileTrack("p.png", "video", factory=lambda _: FakePlayer("video", one_frame))
    pts, elapsed = run(_timed_read(track, STILL_IMAGE_FPS + 1))
    track.stop()
    assert track.passes == 1
    step = 90_000 // STILL_IMAGE_FPS
    assert pts == [0, *range(1, 1 + step * STILL_IMAGE_FPS, step)]
    assert abs(elapsed - pts[-1] / 90_000) <= PACING_SLACK_S


@pytest.mark.parametrize("name", ["astronaut.png", "Tom_Hanks_54745.png"])
def test_a_real_still_image_keeps_media_time_with_the_wall_clock(name):
    # Before pacing, Tom_Hanks_54745.png (tiny, fast to reopen) ran at about 11x real time.
    path = MEDIA_DIR / name
    if not path.is_file():
        pytest.skip(f"{path} not found")

    async def body():
        track = open_track(parse_source(str(path), "video"))
        started, frame = time.monotonic(), None
        try:
            while time.monotonic() - started < REAL_FILE_S:
                frame = await track.recv()
        finally:
            track.stop()
        return float(frame.pts * frame.time_base), time.monotonic() - started

    media_s, wall_s = run(body())
    assert abs(media_s - wall_s) < PACING_SLACK_S


@pytest.mark.parametrize(("source_fps", "max_fps", "expected"), [(15, 5, 5), (30, 5, 5), (4, 5, 4)])
def test_rate_limiter_forwards_at_most_max_fps(source_fps, max_fps, expected):
    frames = [FakeFrame(i, Fraction(1, source_fps)) for i in range(source_fps * 2)]
    limited = RateLimitedVideoTrack(ListTrack("video", frames), max_fps=max_fps)
    pts = run(_read(limited, expected * 2))
    assert pts == sorted(pts)
    assert limited.forwarded == expected * 2
    assert all((b - a) / source_fps >= 1 / max_fps for a, b in zip(pts, pts[1:], strict=False))


def test_the_screen_is_grabbed_every_second_and_sent_every_five(grabbed_screen):
    assert _grab_options()["framerate"] == "1"
    assert SCREEN_FPS == 0.2
    assert run(_read(grabbed_screen, 4)) == [0, 5, 10, 15]


def test_send_next_frame_lets_exactly_the_next_frame_through_then_the_interval_restarts(
    grabbed_screen,
):
    track = grabbed_screen

    async def body():
        first = await _read(track, 1)
        track.send_next_frame()
        return first + await _read(track, 3)

    assert run(body()) == [0, 1, 6, 11]
    assert (track.forwarded, track.dropped) == (4, 8)


@pytest.mark.parametrize(
    ("spec", "kind", "code"),
    [
        ("v4l2:/dev/video-that-does-not-exist", "video", ErrorCode.NO_CAMERA),
        ("alsa:hw:99", "audio", ErrorCode.NO_MICROPHONE),
    ],
)
def test_missing_device_paths_are_no_camera_and_no_microphone(spec, kind, code):
    if spec.partition(":")[0] not in av.formats_available | {"v4l2"}:
        pytest.skip(f"this FFmpeg build has no {spec.partition(':')[0]} input")
    with pytest.raises(AgentError) as caught:
        probe_source(parse_source(spec, kind))
    assert caught.value.code is code


def test_a_busy_device_is_4008_through_pyavs_own_error(monkeypatch):
    # A real EBUSY needs a capture device held by another program, which CI machines lack;
    # PyAV turns the demuxer's AVERROR(EBUSY) into its OSError via err_check, as done here.
    def busy_open(source):
        av.error.err_check(-errno.EBUSY, source.target)

    monkeypatch.setattr("agent.sources._open_container", busy_open)
    with pytest.raises(AgentError) as caught:
        probe_source(parse_source("v4l2:/dev/video0", "video"))
    assert caught.value.code is ErrorCode.CAMERA_NOT_READABLE
    assert caught.value.message == "camera 'v4l2:/dev/video0' is busy (in use by another program)"
