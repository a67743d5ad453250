"""Fixtures for the analysis tests: where the models and labelled media are, and loaded models."""

import json
import os
from pathlib import Path

import pytest

from proctoring.analysis.audio import VoiceActivityDetector, load_vad

# The repository's sibling `shared/` directory holds the offline models and the test media.
SHARED_DIR = Path(__file__).resolve().parents[2].parent / "shared"
MODEL_DIR = Path(os.environ.get("PROCTOR_MODEL_DIR", SHARED_DIR / "models"))
MEDIA_DIR = Path(os.environ.get("PROCTOR_MEDIA_DIR", SHARED_DIR / "media"))


def load_expected() -> dict:
    path = MEDIA_DIR / "expected.json"
    if not path.is_file():
        raise FileNotFoundError(f"test media labels not found at {path}; set PROCTOR_MEDIA_DIR")
    return json.loads(path.read_text())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize over the labelled media, so new files in expected.json are tested too."""
    sections = {"image_name": "images", "audio_name": "audio"}
    wanted = [argument for argument in sections if argument in metafunc.fixturenames]
    if not wanted:
        return
    expected = load_expected()
    for argument in wanted:
        metafunc.parametrize(argument, sorted(expected[sections[argument]]))


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return MODEL_DIR


@pytest.fixture(scope="session")
def media_dir() -> Path:
    return MEDIA_DIR


@pytest.fixture(scope="session")
def expected() -> dict:
    return load_expected()


@pytest.fixture(scope="module")
def vad() -> VoiceActivityDetector:
    return load_vad()
