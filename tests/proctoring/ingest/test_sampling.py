"""Media clocks and samplers of the ingest."""

from fractions import Fraction

import av
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from proctoring.ingest.sampling import (
    ANALYSIS_SAMPLE_RATE,
    AudioWindower,
    FrameSampler,
    TrackClock,
)

VIDEO_CLOCK = Fraction(1, 90000)


def test_clock_starts_at_zero_and_survives_the_32_bit_wrap():
    clock = TrackClock()
    start = (1 << 32) - 45000  # half a second before the RTP timestamp wraps
    assert clock.seconds(start, VIDEO_CLOCK) == 0.0
    assert clock.seconds(start + 45000, VIDEO_CLOCK) == pytest.approx(0.5)
    assert clock.seconds(45000, VIDEO_CLOCK) == pytest.approx(1.0)


def test_sampler_takes_one_frame_per_second_on_a_grid():
    sampler = FrameSampler(1.0)
    taken = [t / 15 for t in range(60) if sampler.take(t / 15) is not None]
    assert taken == pytest.approx([0.0, 1.0, 2.0, 3.0])


def test_sampler_stays_on_the_grid_after_a_gap():
    sampler = FrameSampler(1.0)
    times = [0.0, 0.5, 4.3, 4.9, 5.0, 5.5]
    taken = [(t, sampler.take(t)) for t in times]
    assert [t for t, seq in taken if seq is not None] == [0.0, 4.3, 5.0]
    assert [seq for _, seq in taken if seq is not None] == [0, 1, 2]


@given(st.lists(st.floats(min_value=0, max_value=600), min_size=1, max_size=200))
def test_sampler_takes_at_most_one_frame_per_grid_slot(times):
    sampler = FrameSampler(2.0)
    taken = [t for t in sorted(times) if sampler.take(t) is not None]
    slots = [int((t + 0.02) / 0.5) for t in taken]
    assert len(slots) == len(set(slots))
    assert taken[0] == min(times)


def test_an_early_request_takes_the_next_frame_and_restarts_the_grid_there():
    sampler = FrameSampler(1.0)
    frames = [t / 5 for t in range(20)]  # 5 fps
    taken, early = [], []
    for t in frames:
        if t == pytest.approx(0.2):
            sampler.take_next_early()  # the worker flagged the sample at 0.0
        if sampler.take(t) is not None:
            taken.append(t)
            early.append(sampler.last_was_early)
    # Not 0.2 (too close to the flagged sample), but 0.4; then one second on from there.
    assert taken == pytest.approx([0.0, 0.4, 1.4, 2.4, 3.4])
    assert early == [False, True, False, False, False]
    assert sampler.seq == len(taken)
    assert not sampler.early_requested


def test_without_a_request_the_early_path_changes_nothing():
    sampler = FrameSampler(1.0)
    plain = FrameSampler(1.0)
    times = [t / 15 for t in range(90)]
    assert [sampler.take(t) for t in times] == [plain.take(t) for t in times]


def opus_like_frame(samples: int, pts: int) -> av.AudioFrame:
    """What aiortc's Opus decoder hands over: 48 kHz, stereo, s16."""
    data = (np.random.default_rng(pts).normal(0, 3000, (1, samples * 2))).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(data, format="s16", layout="stereo")
    frame.sample_rate = 48000
    frame.pts = pts
    frame.time_base = Fraction(1, 48000)
    return frame


def test_audio_is_resampled_once_and_cut_into_windows():
    windower = AudioWindower(window_s=1.0)
    windows = []
    for i in range(125):  # 2.5 s of 20 ms frames
        windows += windower.push(opus_like_frame(960, i * 960), i * 0.02)
    tail = windower.flush()
    assert [w.seq for w in windows] == [0, 1]
    assert [w.media_time for w in windows] == pytest.approx([0.0, 1.0])
    assert all(len(w.pcm) == ANALYSIS_SAMPLE_RATE and w.pcm.dtype == np.int16 for w in windows)
    assert tail is not None and tail.seq == 2 and tail.media_time == pytest.approx(2.0)
    assert tail.duration_s == pytest.approx(0.5, abs=0.02)
