"""The worker's loaded models, one of each per process: the face counter and the VAD.

Shared by the sample analysis, the identity check and the ID card check (issue #18), so that a
worker holds one counter whichever of them runs first.
"""

import functools

from django.conf import settings

from proctoring.analysis import audio, vision


@functools.cache
def human_counter() -> vision.HumanCounter:
    """One detector per worker process, loaded on first use and kept."""
    return vision.load_counter(
        settings.PROCTOR_DETECTOR,
        model_dir=settings.PROCTOR_MODEL_DIR,
        main_input=vision.parse_input_size(settings.PROCTOR_DETECTOR_INPUT),
    )


@functools.cache
def voice_detector() -> audio.VoiceActivityDetector:
    return audio.load_vad()
