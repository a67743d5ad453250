"""Speech for the development audio set: espeak-ng voices, where the words are, and channels."""

from dataclasses import dataclass

import numpy as np

from proctoring.analysis.devaudio import tools
from proctoring.analysis.devaudio.sounds import SAMPLE_RATE, at_peak, silence

SPEECH_PEAK_DBFS = -3.0  # as shared/media's clips (sox norm -3)
# Where the words are, from the clean rendering (before any channel or noise): 10 ms frames
# louder than the clip's loudest frame minus ACTIVE_BELOW_PEAK_DB. Pauses shorter than
# MERGE_GAP_S are within a phrase (stops, breaths), so they do not split a segment.
FRAME_S = 0.01
ACTIVE_BELOW_PEAK_DB = 40.0
MERGE_GAP_S = 0.3
SEGMENT_DECIMALS = 2


@dataclass(frozen=True)
class Voice:
    name: str
    speed: int  # words per minute
    pitch: int  # espeak-ng 0-99


VOICES = (
    Voice("en-us", 150, 50),
    Voice("en-us+f3", 165, 70),
    Voice("en-gb", 140, 40),
    Voice("en-us+m3", 170, 35),
)
WHISPER_VOICES = (Voice("en-us+whisper", 140, 50), Voice("en-us+whisperf", 150, 60))

Segments = list[tuple[float, float]]


def say(text: str, voice: Voice) -> np.ndarray:
    rendered = tools.speak(text, voice=voice.name, speed=voice.speed, pitch=voice.pitch)
    return at_peak(rendered, SPEECH_PEAK_DBFS)


def active_segments(clean: np.ndarray, *, offset_s: float = 0.0) -> Segments:
    """(start, end) seconds of the words in a clean rendering, merged across short pauses."""
    frame = round(FRAME_S * SAMPLE_RATE)
    count = clean.size // frame
    if count == 0:
        return []
    energy = np.square(clean[: count * frame].astype(np.float64)).reshape(count, frame).mean(1)
    level = 10 * np.log10(np.maximum(energy, 1e-12))
    active = np.flatnonzero(level >= level.max() - ACTIVE_BELOW_PEAK_DB)
    segments: Segments = []
    for index in active:
        start, end = index * FRAME_S, (index + 1) * FRAME_S
        if segments and start - segments[-1][1] < MERGE_GAP_S:
            segments[-1] = (segments[-1][0], end)
        else:
            segments.append((start, end))
    return [
        (round(offset_s + a, SEGMENT_DECIMALS), round(offset_s + b, SEGMENT_DECIMALS))
        for a, b in segments
    ]


def script(lines: list[tuple[float, np.ndarray]], total_s: float) -> tuple[np.ndarray, Segments]:
    """Renderings placed at their start times in a clip of `total_s`, and where their words are."""
    out = silence(total_s).astype(np.float64)
    segments: Segments = []
    for start_s, clean in lines:
        begin = round(start_s * SAMPLE_RATE)
        if begin + clean.size > out.size:
            raise tools.DevAudioError(f"a line starting at {start_s} s overruns {total_s} s")
        out[begin : begin + clean.size] += clean
        segments += active_segments(clean, offset_s=start_s)
    return out.astype(np.float32), sorted(segments)


def in_sequence(clean_lines: list[np.ndarray], *, lead_s: float, gaps_s: list[float]):
    """Start times for lines read one after another with the given pauses between them."""
    starts, at = [], lead_s
    for clean, gap in zip(clean_lines, gaps_s, strict=True):
        starts.append(at)
        at += clean.size / SAMPLE_RATE + gap
    return list(zip(starts, clean_lines, strict=True)), at


# ---- channels: what the words go through before the product hears them --------------------

TELEPHONE_BAND = "300-3400"  # the narrowband telephone channel, as Bluetooth hands-free sends
TELEPHONE_RATE = "8000"
MU_LAW = "mu-law"  # G.711: the plain telephone channel
GSM = "gsm-full-rate"  # GSM 06.10 at 13 kbit/s: a lossy speech codec, like CVSD in HFP
# A cheap headset or laptop microphone: no bass, a harsh presence peak, soft clipping.
CHEAP_MIC_EFFECTS = [
    "highpass", "350",
    "lowpass", "5000",
    "equalizer", "2800", "1.2q", "+9",
    "equalizer", "900", "1q", "-4",
    "overdrive", "6", "20",
]  # fmt: skip


def telephone(samples: np.ndarray, *, codec: str = MU_LAW) -> np.ndarray:
    """8 kHz, 300-3400 Hz, through a telephone codec: Bluetooth hands-free (HFP narrowband)."""
    effects = ["sinc", TELEPHONE_BAND, "rate", "-v", TELEPHONE_RATE]
    return _same_length(tools.sox_effects(samples, effects, encoding=codec), samples.size)


def cheap_microphone(samples: np.ndarray) -> np.ndarray:
    return _same_length(tools.sox_effects(samples, CHEAP_MIC_EFFECTS), samples.size)


def room(samples: np.ndarray, *, reverberance: int = 50) -> np.ndarray:
    """A small room's reflections (SoX reverb), the dry sound kept in front."""
    effects = ["reverb", str(reverberance), "50", "60"]
    return _same_length(tools.sox_effects(samples, effects), samples.size)


def _same_length(samples: np.ndarray, size: int) -> np.ndarray:
    """SoX's resamplers and reverb tail change the length by a few samples; keep the clip's."""
    if samples.size >= size:
        return samples[:size]
    return np.concatenate([samples, np.zeros(size - samples.size, dtype=samples.dtype)])
