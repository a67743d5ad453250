"""The two command-line tools the development audio set is made with: espeak-ng and SoX.

Both are deterministic here: espeak-ng has no randomness, and SoX runs with `-R` (fixed random
seed) and `-D` (no dither), so the same versions make the same bytes.
"""

import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from proctoring.analysis.errors import AnalysisError

SAMPLE_RATE = 16_000
INT16_PEAK = 32767
INT16_SCALE = 32768.0
TOOLS = ("espeak-ng", "sox")
APT_HINT = "apt-get install espeak-ng sox (listed in requirements/apt.txt)"
TOOL_TIMEOUT_S = 60


class DevAudioError(AnalysisError):
    """The development audio set cannot be made (a tool is missing or failed)."""


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def check_tools() -> None:
    missing = missing_tools()
    if missing:
        raise DevAudioError(
            f"cannot make the development audio set: {', '.join(missing)} not found; {APT_HINT}"
        )


def tool_versions() -> dict[str, str]:
    """First line of each tool's version output: part of the cache key of the generated set."""
    check_tools()
    return {
        "espeak-ng": _run(["espeak-ng", "--version"]).strip().splitlines()[0],
        "sox": _run(["sox", "--version"]).strip().splitlines()[0],
    }


def speak(text: str, *, voice: str, speed: int, pitch: int) -> np.ndarray:
    """espeak-ng's rendering of `text`, as float32 at 16 kHz (SoX's high-quality resampler)."""
    with tempfile.TemporaryDirectory(prefix="devaudio-") as folder:
        raw = Path(folder) / "speech.wav"
        _run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(raw), text])
        return sox_file(raw, ["rate", "-v", str(SAMPLE_RATE), "channels", "1"])


def sox_effects(samples: np.ndarray, effects: Sequence[str], **output: str) -> np.ndarray:
    """`samples` (float32, 16 kHz) through a SoX effects chain, back at 16 kHz."""
    with tempfile.TemporaryDirectory(prefix="devaudio-") as folder:
        source = Path(folder) / "in.wav"
        write_wav(source, samples)
        return sox_file(source, effects, **output)


def sox_file(source: Path, effects: Sequence[str], *, encoding: str = "") -> np.ndarray:
    """A file through SoX effects; with `encoding` (a SoX codec such as 'mu-law') the effects'
    output is encoded with it and decoded back to 16-bit linear at 16 kHz."""
    with tempfile.TemporaryDirectory(prefix="devaudio-") as folder:
        target = Path(folder) / "out.wav"
        coded = ["-e", encoding] if encoding else ["-b", "16"]
        _run(["sox", "-V1", "-R", "-D", str(source), *coded, str(target), *effects])
        if encoding:
            # Decode the 8-bit companded file back to 16-bit linear at 16 kHz.
            linear = Path(folder) / "linear.wav"
            _run(
                [
                    "sox",
                    "-V1",
                    "-R",
                    "-D",
                    str(target),
                    "-b",
                    "16",
                    "-e",
                    "signed-integer",
                    str(linear),
                    "rate",
                    "-v",
                    str(SAMPLE_RATE),
                ]
            )
            target = linear
        return read_any_wav(target)


def read_any_wav(path: Path) -> np.ndarray:
    """float32 samples of a mono 16-bit WAV written by SoX at 16 kHz."""
    with wave.open(os.fspath(path), "rb") as stream:
        if (stream.getnchannels(), stream.getsampwidth(), stream.getframerate()) != (
            1,
            2,
            SAMPLE_RATE,
        ):
            raise DevAudioError(f"{path}: SoX did not write 16 kHz mono 16-bit audio")
        data = stream.readframes(stream.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / INT16_SCALE


def write_wav(path: Path, samples: np.ndarray) -> None:
    """16 kHz mono 16-bit PCM; samples are float in [-1, 1], clipped, rounded."""
    pcm = np.clip(np.round(samples * INT16_PEAK), -INT16_PEAK - 1, INT16_PEAK).astype("<i2")
    with wave.open(os.fspath(path), "wb") as stream:
        stream.setnchannels(1)
        stream.setsampwidth(2)
        stream.setframerate(SAMPLE_RATE)
        stream.writeframes(pcm.tobytes())


def _run(command: list[str]) -> str:
    check_tools()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DevAudioError(f"{command[0]} failed: {error}") from error
    if done.returncode != 0:
        raise DevAudioError(f"{' '.join(command[:2])} failed: {done.stderr.strip()[:300]}")
    return done.stdout
