"""The clips of the development audio set: what each one holds, and how it is made."""

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from proctoring.analysis.devaudio import sounds, speech
from proctoring.analysis.devaudio.sounds import at_peak, at_rms, place
from proctoring.analysis.devaudio.speech import VOICES, WHISPER_VOICES, Segments, say

IMPULSIVE, STEADY, SPEECH, NARROWBAND, WHISPER, SHORT, MUSIC = (
    "impulsive noise",
    "steady noise",
    "speech",
    "narrowband speech",
    "whisper",
    "short answers",
    "music",
)
CLIP_S = 12.0
ROOM_TONE_DBFS = -62.0  # a quiet room's own hiss under every clip, so no window is digital zero
SEED = 20_260_000  # plus a stable hash of the clip's name: clips do not share random numbers

# The hands-free headset clip: speech 10 dB over a fan, arriving quiet (no automatic gain).
# (At this level a fresh Silero state finds about half the speech windows: the hardest case.)
HEADSET_SNR_DB = 10.0
HEADSET_PEAK_DBFS = -23.0
CHANNEL_PEAK_DBFS = -3.0
SENTENCES = (
    "Please keep your eyes on the screen while you answer.",
    "The answer to the third question is forty two, I am quite sure of it.",
    "Could you read me the next question, the one about the triangle?",
    "I think it is option C, because the other two are obviously wrong.",
    "Wait, let me check the formula again before you write it down.",
    "Yes, that is right. Now go to question number seven.",
    "You have twenty minutes left, so do not spend too long on this one.",
    "The capital of Australia is Canberra, not Sydney.",
)
SHORT_ANSWERS = ("Forty-two.", "Yes.", "No.", "B.", "Seven.", "Twelve.", "C.", "Nine.")
# Start times chosen to land early, mid and late in 1 s windows, and across their boundaries;
# 3.5 s or more apart, so no answer's window has another answer's window within 2 windows (an
# isolated answer is what a 2-of-3 rule would lose).
SHORT_ANSWER_STARTS = (0.6, 4.15, 8.82, 12.45, 16.93, 20.3, 24.78, 28.05)
SHORT_ANSWERS_S = 30.0
LYRICS = (
    "Oh the night is young and the road is long",
    "and I keep on singing the same old song",
)

Made = tuple[np.ndarray, Segments]


@dataclass(frozen=True)
class Clip:
    name: str
    category: str
    speech: bool
    make: Callable[[np.random.Generator], Made]
    note: str
    channel: Callable[[np.ndarray], np.ndarray] | None = None  # after the room tone

    def rng(self, seed: int = SEED) -> np.random.Generator:
        return np.random.default_rng(seed + zlib.crc32(self.name.encode()))


def _no_speech(samples: np.ndarray) -> Made:
    return samples, []


def _times(rng, count: int, *, first_s: float = 0.4, gap_s=(1.2, 3.2)) -> list[float]:
    """`count` start times spread over the clip with irregular gaps (seeded)."""
    starts, at = [], first_s + float(rng.uniform(0.0, 0.6))
    for _ in range(count):
        starts.append(at)
        at += float(rng.uniform(*gap_s))
    return [s for s in starts if s < CLIP_S - 1.0]


def _groups(rng, maker, *, count, sizes, peak_dbfs, spacing=(0.15, 0.25)) -> np.ndarray:
    """Knock-knock-knock: groups of 1..N events at a human rhythm, at irregular times."""
    events = []
    for start in _times(rng, count):
        at = start
        for _ in range(int(rng.integers(sizes[0], sizes[1] + 1))):
            events.append((at, at_peak(maker(rng), peak_dbfs + float(rng.uniform(-6, 0)))))
            at += float(rng.uniform(*spacing))
    return place(CLIP_S, events)


def door_knocks(rng) -> Made:
    dry = _groups(rng, sounds.knock, count=5, sizes=(2, 4), peak_dbfs=-3.0)
    return _no_speech(at_peak(speech.room(dry), -3.0))


def desk_knocks(rng) -> Made:
    def desk(r: np.random.Generator) -> np.ndarray:
        return sounds.knock(r, sounds.DESK_MODES)

    taps = _groups(rng, desk, count=6, sizes=(1, 3), peak_dbfs=-6.0, spacing=(0.12, 0.2))
    return _no_speech(taps)


def claps(rng) -> Made:
    dry = _groups(rng, sounds.clap, count=5, sizes=(1, 6), peak_dbfs=-3.0, spacing=(0.1, 0.14))
    return _no_speech(at_peak(speech.room(dry, reverberance=40), -3.0))


def typing(rng) -> Made:
    events, at = [], 0.3
    while at < CLIP_S - 0.5:
        for _ in range(int(rng.integers(3, 9))):
            heavy = rng.random() < 0.15  # the space bar
            level = -16 + float(rng.uniform(-4, 2))
            events.append((at, at_peak(sounds.key_press(rng, heavy=heavy), level)))
            at += float(rng.uniform(0.08, 0.22))
        at += float(rng.uniform(0.4, 1.5))
    return _no_speech(place(CLIP_S, events))


def coughs(rng) -> Made:
    dry = _groups(rng, sounds.cough, count=5, sizes=(1, 3), peak_dbfs=-3.0, spacing=(0.3, 0.45))
    return _no_speech(at_peak(speech.room(dry, reverberance=30), -3.0))


def dropped_objects(rng) -> Made:
    def drop(r: np.random.Generator) -> np.ndarray:
        if r.random() < 0.5:
            return sounds.dropped(r, sounds.PEN_MODES, bounces=int(r.integers(2, 6)))
        return sounds.dropped(r, sounds.BOOK_MODES, bounces=int(r.integers(0, 3)))

    dry = _groups(rng, drop, count=5, sizes=(1, 1), peak_dbfs=-3.0)
    return _no_speech(at_peak(speech.room(dry, reverberance=40), -3.0))


def chair_and_door(rng) -> Made:
    def either(r: np.random.Generator) -> np.ndarray:
        if r.random() < 0.5:
            return sounds.scrape(r, float(r.uniform(0.5, 1.4)))
        return sounds.door_close(r)

    dry = _groups(rng, either, count=6, sizes=(1, 1), peak_dbfs=-3.0)
    return _no_speech(at_peak(speech.room(dry, reverberance=50), -3.0))


def fan(rng) -> Made:
    return _no_speech(at_rms(sounds.fan(rng, CLIP_S), -32.0))


def air_conditioner(rng) -> Made:
    return _no_speech(at_rms(sounds.air_conditioner(rng, CLIP_S), -36.0))


def street_hum(rng) -> Made:
    return _no_speech(at_rms(sounds.street(rng, CLIP_S), -38.0))


def music_instrumental(rng) -> Made:
    return _no_speech(sounds.music(rng, CLIP_S))


def music_vocals(rng) -> Made:
    sung = [say(line, speech.Voice("en-us+f2", 110, 80)) for line in LYRICS]
    lines, _ = speech.in_sequence(sung, lead_s=1.0, gaps_s=[1.0, 0.0])
    vocals, segments = speech.script(lines, CLIP_S)
    return at_peak(sounds.music(rng, CLIP_S) * 0.5 + vocals * 0.7, -3.0), segments


def _read_aloud(rng) -> Made:
    """Every sentence, voices in turn, with the pauses of someone talking to a helper."""
    rendered = [say(text, VOICES[i % len(VOICES)]) for i, text in enumerate(SENTENCES)]
    gaps = [float(rng.uniform(0.6, 1.8)) for _ in rendered]
    lines, end = speech.in_sequence(rendered, lead_s=0.7, gaps_s=gaps)
    return speech.script(lines, float(np.ceil(end)))


def speech_read(rng) -> Made:
    return _read_aloud(rng)


def speech_over_fan(rng) -> Made:
    """Speech HEADSET_SNR_DB over a desk fan: the room a hands-free headset picks up."""
    clean, segments = _read_aloud(rng)
    speech_dbfs = 10 * np.log10(np.mean(np.square(clean, dtype=np.float64)))
    fan = sounds.fan(rng, clean.size / sounds.SAMPLE_RATE)
    return clean + at_rms(fan, speech_dbfs - HEADSET_SNR_DB), segments


def whisper(rng) -> Made:
    rendered = [say(text, WHISPER_VOICES[i % 2]) for i, text in enumerate(SENTENCES[:4])]
    lines, end = speech.in_sequence(rendered, lead_s=0.5, gaps_s=[1.2, 0.9, 1.5, 0.5])
    return speech.script(lines, float(np.ceil(end)))


def short_answers(rng) -> Made:
    rendered = [say(text, VOICES[i % len(VOICES)]) for i, text in enumerate(SHORT_ANSWERS)]
    return speech.script(list(zip(SHORT_ANSWER_STARTS, rendered, strict=True)), SHORT_ANSWERS_S)


# ---- channels: the room's sound (room tone included) on its way to the product -------------


def telephone(samples: np.ndarray) -> np.ndarray:
    return at_peak(speech.telephone(samples), CHANNEL_PEAK_DBFS)


def headset(samples: np.ndarray) -> np.ndarray:
    """A Bluetooth headset in hands-free mode: GSM-like codec, arriving quiet (no gain)."""
    return at_peak(speech.telephone(samples, codec=speech.GSM), HEADSET_PEAK_DBFS)


def cheap_microphone(samples: np.ndarray) -> np.ndarray:
    return at_peak(speech.cheap_microphone(samples), CHANNEL_PEAK_DBFS)


CLIPS = (
    Clip("door_knocks.wav", IMPULSIVE, False, door_knocks, "knock groups on a wooden door"),
    Clip("desk_knocks.wav", IMPULSIVE, False, desk_knocks, "knuckles on a desk"),
    Clip("claps.wav", IMPULSIVE, False, claps, "single claps and short runs"),
    Clip("typing.wav", IMPULSIVE, False, typing, "bursts of key presses, space bar"),
    Clip("coughs.wav", IMPULSIVE, False, coughs, "cough-like breath bursts, some in a row"),
    Clip("dropped_objects.wav", IMPULSIVE, False, dropped_objects, "a pen and a book dropped"),
    Clip("chair_and_door.wav", IMPULSIVE, False, chair_and_door, "chair scrapes, a door shut"),
    Clip("fan.wav", STEADY, False, fan, "desk fan"),
    Clip("air_conditioner.wav", STEADY, False, air_conditioner, "vent noise, mains hum"),
    Clip("street_hum.wav", STEADY, False, street_hum, "traffic through a window"),
    Clip("music_instrumental.wav", MUSIC, False, music_instrumental, "synthesised pop loop"),
    Clip("music_vocals.wav", MUSIC, True, music_vocals, "the loop with a voice over it"),
    Clip("speech_telephone.wav", NARROWBAND, True, speech_read, "8 kHz mu-law, 300-3400 Hz",
         telephone),
    Clip("speech_headset.wav", NARROWBAND, True, speech_over_fan,
         "hands-free headset: a fan 10 dB under the voice, GSM codec, -23 dBFS peak", headset),
    Clip("short_answers_telephone.wav", NARROWBAND, True, short_answers,
         "one-word answers, 8 kHz mu-law", telephone),
    Clip("speech_cheap_mic.wav", SPEECH, True, speech_read, "harsh EQ, no bass, clipping",
         cheap_microphone),
    Clip("whisper.wav", WHISPER, True, whisper, "espeak-ng whisper voices"),
    Clip("short_answers.wav", SHORT, True, short_answers, "one-word answers in a quiet room"),
)  # fmt: skip


def room_tone(rng: np.random.Generator, size: int) -> np.ndarray:
    return at_rms(sounds.coloured_noise(rng, size / sounds.SAMPLE_RATE, 1.0), ROOM_TONE_DBFS)


def render(clip: Clip, *, seed: int = SEED) -> Made:
    """The clip's samples (float32, 16 kHz) and where its words are: the room's sound with its
    room tone, through the clip's channel if it has one (a telephone band passes the room's
    hiss through the band too, as it would)."""
    rng = clip.rng(seed)
    samples, segments = clip.make(rng)
    samples = samples + room_tone(rng, samples.size)
    if clip.channel is not None:
        samples = clip.channel(samples)
    return np.clip(samples, -1.0, 1.0).astype(np.float32), segments
