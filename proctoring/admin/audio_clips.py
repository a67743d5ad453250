"""A violation's audio as one clip for the reviewer: the stored windows joined in time order.

The workers keep the window that started an audio violation and each later window the detector
flagged inside it, for its first AUDIO_CLIP_MAX_S (services/violations.py); quiet windows within
the violation are not kept, so the clip is the flagged audio, back to back."""

import io
import logging
import wave

from proctoring.models import Evidence
from proctoring.services.violations import AUDIO_CLIP_MAX_S

logger = logging.getLogger(__name__)


def _frames(evidence: Evidence) -> tuple[bytes, tuple[int, int, int]] | None:
    """The PCM frames and (channels, sample width, rate) of a stored WAV, or None if unreadable."""
    try:
        with evidence.file.open("rb") as handle, wave.open(handle) as clip:
            params = (clip.getnchannels(), clip.getsampwidth(), clip.getframerate())
            return clip.readframes(clip.getnframes()), params
    except (OSError, EOFError, wave.Error):
        logger.warning("evidence %s: not a readable WAV, left out of the clip", evidence.pk)
        return None


def joined_wav(parts: list[Evidence]) -> bytes:
    """The parts' audio back to back, in the first readable part's format, at most
    AUDIO_CLIP_MAX_S long; parts in another format are left out."""
    chunks, params = [], None
    for part in parts:
        found = _frames(part)
        if found is None or (params is not None and found[1] != params):
            continue
        params = found[1]
        chunks.append(found[0])
    channels, width, rate = params or (1, 2, 16000)
    budget = int(AUDIO_CLIP_MAX_S * rate) * channels * width
    out = io.BytesIO()
    with wave.open(out, "wb") as clip:
        clip.setnchannels(channels)
        clip.setsampwidth(width)
        clip.setframerate(rate)
        clip.writeframes(b"".join(chunks)[:budget])
    return out.getvalue()
