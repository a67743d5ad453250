"""System checks: refuse to start with a model file missing, and say how to get it.

Tagged MODELS_TAG, so the media process (which runs no model) can leave them out; the analysis
code is imported inside the checks for the same reason."""

from django.conf import settings
from django.core.checks import Error, Tags, register

MODELS_TAG = "proctoring_models"


@register(MODELS_TAG)
def check_detector_input(app_configs, **kwargs) -> list[Error]:
    from proctoring.analysis.errors import AnalysisError
    from proctoring.analysis.vision import parse_input_size

    try:
        parse_input_size(settings.PROCTOR_DETECTOR_INPUT)
    except AnalysisError as exc:
        return [
            Error(str(exc), hint="Set PROCTOR_DETECTOR_INPUT like 640x480.", id="proctoring.E002")
        ]
    return []


def missing_models() -> list[str]:
    """One message per model file the workers need but cannot find."""
    from proctoring.analysis.errors import AnalysisError
    from proctoring.analysis.models import model_path, silero_vad_path

    problems = []
    for locate in (
        lambda: model_path(settings.PROCTOR_DETECTOR, model_dir=settings.PROCTOR_MODEL_DIR),
        lambda: model_path(settings.PROCTOR_IDENTITY_MODEL, model_dir=settings.PROCTOR_MODEL_DIR),
        silero_vad_path,
    ):
        try:
            locate()
        except AnalysisError as exc:
            problems.append(str(exc))
    return problems


@register(MODELS_TAG)
def check_models(app_configs, **kwargs) -> list[Error]:
    return [
        Error(
            problem,
            hint="Set PROCTOR_MODEL_DIR to the folder with the ONNX models.",
            id="proctoring.E001",
        )
        for problem in missing_models()
    ]


@register(Tags.security, deploy=True)
def check_secret_keys(app_configs, **kwargs) -> list[Error]:
    """`check --deploy`: a real SECRET_KEY, and a Fernet key of its own that Fernet accepts."""
    from cryptography.fernet import Fernet

    errors = []
    if settings.SECRET_KEY_IS_DEVELOPMENT:
        errors.append(
            Error(
                "SECRET_KEY is the public development key.",
                hint="Set DJANGO_SECRET_KEY to a long random value.",
                id="proctoring.E010",
            )
        )
    key = settings.PROCTOR_SECRET_ENCRYPTION_KEY
    if not key:
        errors.append(
            Error(
                "PROCTOR_SECRET_ENCRYPTION_KEY is not set: client secrets are encrypted with a "
                "key derived from SECRET_KEY.",
                hint="Set it to the output of Fernet.generate_key() and keep it apart from "
                "SECRET_KEY.",
                id="proctoring.E011",
            )
        )
        return errors
    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        errors.append(
            Error(
                "PROCTOR_SECRET_ENCRYPTION_KEY is not a Fernet key (32 url-safe base64 bytes).",
                hint="Generate one: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'",
                id="proctoring.E012",
            )
        )
    return errors
