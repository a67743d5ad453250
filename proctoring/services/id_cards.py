"""The ID card check (issue #18): the face on the candidate's ID card against the candidate's.

The card comes held to the camera (the client asks for a photo with reason "id_card"), or as an
image uploaded by the agent or the integrator. Each try is stored with its similarity, the card
image and the candidate's face crop; up to PROCTOR_ID_CARD_MAX_TRIES tries, and a failure is
recorded for review without blocking the test. The name and the expiry date printed on the card
are read with RapidOCR (analysis/identity/card_text.py): a name on the card that is not the
attempt's (userDetails.name), or an expiry date in the past, fails the try; text that cannot be
read is recorded as such and fails nothing.
"""

import logging
import uuid

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from proctoring.analysis import identity, vision
from proctoring.analysis.errors import AnalysisError
from proctoring.analysis.identity import card_text
from proctoring.exceptions import Conflict, ValidationFailed
from proctoring.models import (
    Attempt,
    Evidence,
    EvidenceKind,
    IdCardCheck,
    MediaSession,
)
from proctoring.options import complete_options
from proctoring.selectors.attempts import attempt_thresholds
from proctoring.services import identity as identity_service
from proctoring.services.detectors import human_counter
from proctoring.services.violations import violation_push

logger = logging.getLogger(__name__)

SOURCE_CAMERA, SOURCE_AGENT, SOURCE_INTEGRATOR = "camera", "agent", "integrator"
SOURCES = (SOURCE_CAMERA, SOURCE_AGENT, SOURCE_INTEGRATOR)
NO_FACE_ON_CARD = "no_face_on_card"
CARD_FACE_UNCLEAR = "card_face_unclear"
NO_LIVE_FACE = "no_live_face"
MISMATCH = "mismatch"
NAME_MISMATCH = "name_mismatch"
EXPIRED = "expired"
VERIFIED_CODE, NOT_VERIFIED_CODE = 2005, 4909


def id_card_enabled(attempt: Attempt) -> bool:
    return bool(complete_options(attempt.options)["trackingOptions"].get("idCardVerification"))


@transaction.atomic
def id_card_check(
    *, attempt: Attempt, image: bytes, source: str, session: MediaSession | None = None
) -> IdCardCheck:
    """One try: find the card's face, compare it with the candidate's, store the result."""
    attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
    _check_allowed(attempt)
    try:
        frame = vision.decode_jpeg(image)
    except AnalysisError as exc:
        raise ValidationFailed("The ID card image is not a JPEG or PNG image.") from exc
    faces = sorted(
        human_counter().detect(frame),
        key=lambda face: (face.box[2] - face.box[0]) * (face.box[3] - face.box[1]),
    )
    card_box, live_box = _card_and_live(faces, source)
    probe = identity_service.identity_probe()
    card = probe.probe(frame, card_box) if card_box is not None else None
    live = probe.probe(frame, live_box) if live_box is not None else None
    references = identity_service.references_of(attempt=attempt)
    candidates = references + ([live.embedding] if live and live.embedding is not None else [])
    similarity, reason = _compare(card, candidates)
    decision = attempt_thresholds(attempt=attempt).identity(probe.model)
    if not reason and (similarity is None or similarity < decision.match_at):
        reason = MISMATCH
    text = _card_text(attempt, frame)
    if not reason and text.get("name") == card_text.MISMATCH:
        reason = NAME_MISMATCH
    if not reason and text.get("expired") is True:
        reason = EXPIRED
    passed = reason == ""
    check = IdCardCheck.objects.create(
        attempt=attempt,
        attempt_number=attempt.id_card_checks.count() + 1,
        source=source,
        passed=passed,
        reason=reason,
        text=text,
        similarity=None if similarity is None else round(similarity, 4),
        model=probe.model,
        card_evidence=_store(attempt, EvidenceKind.ID_CARD, image, {"source": source}),
        face_evidence=_face_evidence(attempt, frame, live),
    )
    _tell(attempt, session, check)
    logger.info("attempt %s: ID card try %d passed=%s", attempt.pk, check.attempt_number, passed)
    return check


def _card_text(attempt: Attempt, frame) -> dict:
    """Name and expiry verdicts from the card's printed text; what could not be read says so."""
    if not card_text.ocr_available():
        return {"name": card_text.NOT_CHECKED, "expiry": None, "expired": None, "ocr": "missing"}
    lines = card_text.read_lines(frame)
    name = (attempt.user_details or {}).get("name", "")
    found = card_text.check_card_text(lines, name=name, today=timezone.localdate())
    return found.to_dict()


def _check_allowed(attempt: Attempt) -> None:
    if not id_card_enabled(attempt):
        raise Conflict(
            "ID card verification is not enabled for this attempt.", code="id_card_not_enabled"
        )
    checks = attempt.id_card_checks.all()
    if any(check.passed for check in checks):
        raise Conflict("The ID card is verified already.", code="id_card_verified")
    if len(checks) >= settings.PROCTOR_ID_CARD_MAX_TRIES:
        raise Conflict(
            f"The ID card check was tried {len(checks)} times, the most allowed.",
            code="id_card_tries_exhausted",
        )


def _card_and_live(faces: list, source: str) -> tuple[tuple | None, tuple | None]:
    """(card face box, live face box), faces sorted smallest first. A card held to the camera
    (or a selfie with the card) shows two faces: the card's is the smaller. An uploaded card
    alone shows one, the card's; a camera frame with one face shows no card."""
    if len(faces) >= 2:
        return faces[0].box, faces[-1].box
    if len(faces) == 1 and source != SOURCE_CAMERA:
        return faces[0].box, None
    return None, faces[0].box if faces else None


def _compare(card, candidates: list[np.ndarray]) -> tuple[float | None, str]:
    if card is None:
        return None, NO_FACE_ON_CARD
    if card.embedding is None:
        return None, CARD_FACE_UNCLEAR
    if not candidates:
        return None, NO_LIVE_FACE
    return identity.similarity(np.stack(candidates), card.embedding), ""


def _store(attempt: Attempt, kind: str, content: bytes, data: dict) -> Evidence:
    evidence = Evidence(attempt=attempt, kind=kind, at_s=_now_s(attempt), data=data)
    evidence.file.save(f"{uuid.uuid4().hex}.jpg", ContentFile(content), save=True)
    return evidence


def _face_evidence(attempt: Attempt, frame, live) -> Evidence | None:
    """The candidate's face the card was compared with: the live one in the same image, else
    the first enrolled reference."""
    if live is not None and live.embedding is not None:
        crop = vision.encode_jpeg(identity_service.face_crop(frame, live.box))
        return _store(attempt, EvidenceKind.PHOTO, crop, {"reason": "id_card_live_face"})
    template = attempt.identity_templates.order_by("at_s", "pk").first()
    return template.evidence if template is not None else None


def _now_s(attempt: Attempt) -> float:
    if attempt.started_at is None:
        return 0.0
    return max(0.0, (timezone.now() - attempt.started_at).total_seconds())


def _tell(attempt: Attempt, session: MediaSession | None, check: IdCardCheck) -> None:
    if session is None:
        open_sessions = attempt.sessions.filter(ended_at__isnull=True)
        session = open_sessions.order_by("-created_at").first()
    if session is None:
        return
    tries_left = max(0, settings.PROCTOR_ID_CARD_MAX_TRIES - check.attempt_number)
    message = {
        "type": "id_card",
        "code": VERIFIED_CODE if check.passed else NOT_VERIFIED_CODE,
        "passed": check.passed,
        "tries_left": 0 if check.passed else tries_left,
    }
    violation_push(session=session, message=message)
