"""Identity (issue #18): enrol the candidate's face from good frames at the start, compare later
frames and photos with it, and tell the candidate what stops enrolment.

The analysis task calls `frames_identity` on each batch's frames (after counting the faces) and
`enrolment_record` once the batch's observations are stored. Templates are biometric data: they
are encrypted at rest (signing.encrypt_template), never logged, never returned by the API.
"""

import functools
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from proctoring import signing
from proctoring.analysis import identity, vision
from proctoring.analysis.identity import quality as face_quality
from proctoring.analysis.thresholds import DEFAULT_THRESHOLDS
from proctoring.models import (
    Attempt,
    Evidence,
    EvidenceKind,
    IdentityProfile,
    IdentityStatus,
    IdentityTemplate,
    MediaSession,
    Observation,
    ObservationKind,
)
from proctoring.options import complete_options
from proctoring.services.detectors import human_counter
from proctoring.services.observed import Sample
from proctoring.services.violations import violation_push

logger = logging.getLogger(__name__)

IDENTITY_OPTIONS = ("testTakerPhoto", "impersonation", "idCardVerification")
# What each enrolment problem is called in the protocol's error codes (protocol.json, 490x).
PROBLEM_CODES = {
    face_quality.NO_FACE: 4905,
    face_quality.MULTIPLE_FACES: 4906,
    face_quality.TOO_SMALL: 4907,
    face_quality.TURNED: 4908,
    face_quality.BLURRED: 4908,
    face_quality.NO_LANDMARKS: 4908,
}
ENROLLED_CODE = 2004
# A reference photo is a crop around the face (this times its box), kept as evidence.
CROP_CONTEXT = 1.6
SIDE_BY_SIDE_HEIGHT = 224
SIMILARITY_DECIMALS = 4
# A face overlapping the last compared one this much is taken to be in the same seat.
SAME_SEAT_IOU = 0.5


@functools.cache
def identity_probe() -> identity.IdentityProbe:
    """One identity pipeline per worker process, loaded on first use."""
    return identity.load_probe(
        detector=settings.PROCTOR_DETECTOR,
        embedder=settings.PROCTOR_IDENTITY_MODEL,
        model_dir=settings.PROCTOR_MODEL_DIR,
    )


def identity_wanted(options: dict[str, Any]) -> bool:
    """Any option that needs the candidate's face enrolled."""
    tracking = complete_options(options)["trackingOptions"]
    return any(tracking.get(name) for name in IDENTITY_OPTIONS)


def impersonation_checked(options: dict[str, Any]) -> bool:
    return bool(complete_options(options)["trackingOptions"].get("impersonation"))


@dataclass
class AttemptIdentity:
    """What one batch needs to know of an attempt's identity check (loaded once per batch)."""

    attempt_id: int
    compare: bool
    references: list[np.ndarray]
    reference_evidence_id: int | None
    # Per session: the last compared frame.
    last_check: dict[str, "LastCheck"] = field(default_factory=dict)
    # Per session: seconds from the attempt's start to the session's media time zero.
    offsets: dict[str, float] = field(default_factory=dict)
    _reference_crop: np.ndarray | None = None

    @property
    def enrolling(self) -> bool:
        return len(self.references) < settings.PROCTOR_IDENTITY_REFERENCES


@dataclass(frozen=True)
class EnrolOutcome:
    """One frame's part in enrolment: a face good enough to be a reference, or why not."""

    attempt_id: int
    session_id: str
    at_s: float
    problem: str = ""
    embedding: np.ndarray | None = None
    crop_jpeg: bytes = b""
    quality: dict = field(default_factory=dict)
    source: str = "camera"


@dataclass(frozen=True)
class LastCheck:
    """A session's last compared frame: when, what it said, how many matches in a row it ends,
    and where the face was."""

    seq: int
    verdict: str
    streak: int = 0
    box: tuple[float, ...] | None = None

    def followed_by(self, seq: int, verdict: str, box) -> "LastCheck":
        streak = self.streak + 1 if verdict == identity.MATCH else 0
        return LastCheck(seq, verdict, streak, tuple(box))


@dataclass(frozen=True)
class FrameIdentity:
    """What the identity check adds to one frame's observation."""

    data: dict[str, Any] | None = None
    side_by_side: bytes | None = None
    enrol: EnrolOutcome | None = None


def identity_contexts(sessions: dict[str, MediaSession]) -> dict[str, AttemptIdentity]:
    """Per session id: its attempt's identity check, for the attempts that asked for one."""
    attempts: dict[int, AttemptIdentity] = {}
    for session in sessions.values():
        attempt = session.attempt
        if attempt.pk not in attempts and identity_wanted(attempt.options):
            attempts[attempt.pk] = AttemptIdentity(
                attempt_id=attempt.pk,
                compare=impersonation_checked(attempt.options),
                references=[],
                reference_evidence_id=None,
            )
    if not attempts:
        return {}
    model = settings.PROCTOR_IDENTITY_MODEL
    templates = IdentityTemplate.objects.filter(attempt_id__in=attempts, model=model).order_by(
        "at_s", "pk"
    )
    broken: set[int] = set()
    for template in templates:
        found = attempts[template.attempt_id]
        try:
            found.references.append(signing.decrypt_template(template.embedding_encrypted))
        except RuntimeError:
            # The key changed: this attempt is not compared (its result stays uncertain, never
            # verified); the template itself is never logged.
            logger.error("attempt %s: a face template does not decrypt", template.attempt_id)
            broken.add(template.attempt_id)
            continue
        if found.reference_evidence_id is None:
            found.reference_evidence_id = template.evidence_id
    for attempt_id in broken:
        del attempts[attempt_id]
    wanted = {sid: s for sid, s in sessions.items() if s.attempt_id in attempts}
    for session_id, session in wanted.items():
        attempts[session.attempt_id].offsets[session_id] = session.offset_s
    for session_id, last in _last_checks(list(wanted)).items():
        attempts[wanted[session_id].attempt_id].last_check[session_id] = last
    return {sid: attempts[s.attempt_id] for sid, s in wanted.items()}


def _last_checks(session_ids: list[str]) -> dict[str, LastCheck]:
    """The last compared frame of each session: one query (DISTINCT ON the session)."""
    if not session_ids:
        return {}
    rows = (
        Observation.objects.filter(
            session_id__in=session_ids, kind=ObservationKind.VIDEO, data__has_key="identity"
        )
        .order_by("session_id", "-seq")
        .distinct("session_id")
        .values_list("session_id", "seq", "data")
    )
    return {str(sid): _last_check(seq, data) for sid, seq, data in rows}


def _last_check(seq: int, data: dict[str, Any]) -> LastCheck:
    checked = data["identity"]
    faces = data.get("faces") or [{}]
    box = faces[0].get("box") if len(faces) == 1 else None
    return LastCheck(seq, _default_verdict(checked), checked.get("streak", 0), box and tuple(box))


def _default_verdict(checked: dict[str, Any]) -> str:
    try:
        decision = DEFAULT_THRESHOLDS.identity(checked.get("model", ""))
    except ValueError:
        return identity.UNCERTAIN
    verdict = decision.verdict(checked.get("sim"), checked.get("quality") or {})
    if verdict == identity.UNCERTAIN and not decision.judgeable(checked.get("quality") or {}):
        return "unjudgeable"  # a poor face: wait for the next scheduled check, not the next frame
    return verdict


def _check_due(context: AttemptIdentity, session_id: str, seq: int, box) -> bool:
    """A matching face is compared every PROCTOR_IDENTITY_CHECK_EVERY frames, or every
    PROCTOR_IDENTITY_SETTLED_EVERY once it has settled; any other result is followed up on the
    next frame, so K-of-N can confirm (or clear) it at the frame rate."""
    last = context.last_check.get(session_id)
    if last is None:
        return True
    if last.verdict in (identity.MISMATCH, identity.UNCERTAIN):
        return True
    return seq - last.seq >= _interval(last, box) or seq < last.seq


def _interval(last: LastCheck, box) -> int:
    """Settled: the same face matched SETTLE_AFTER times in a row and has not left its place
    (a face elsewhere may be someone else who sat down: it is compared at the usual rate)."""
    settled = (
        last.streak >= settings.PROCTOR_IDENTITY_SETTLE_AFTER
        and last.box is not None
        and _iou(last.box, box) >= SAME_SEAT_IOU
    )
    if settled:
        return settings.PROCTOR_IDENTITY_SETTLED_EVERY
    return settings.PROCTOR_IDENTITY_CHECK_EVERY


def _iou(a, b) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    overlap = max(width, 0.0) * max(height, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap
    return overlap / union if union > 0 else 0.0


def frame_identity(*, context: AttemptIdentity, sample: Sample, frame, faces) -> FrameIdentity:
    """Enrol from the frame while references are missing; compare its one face when due."""
    session_id = str(sample.session_id)
    at_s = context.offsets.get(session_id, 0.0) + sample.media_time
    due = (
        context.compare
        and bool(context.references)
        and len(faces) == 1
        and _check_due(context, session_id, sample.seq, faces[0].box)
    )
    if not context.enrolling and not due:
        return FrameIdentity()
    boxes = [face.box for face in faces]
    probed = identity_probe().enrolment_candidate(frame, boxes)
    enrol = None
    if context.enrolling:
        enrol = _enrol_outcome(context, session_id, at_s, frame, probed)
    if not due or isinstance(probed, str):
        return FrameIdentity(enrol=enrol)
    checked = _compared(context, probed)
    verdict = _default_verdict(checked)
    last = context.last_check.get(session_id, LastCheck(sample.seq, verdict))
    context.last_check[session_id] = last.followed_by(sample.seq, verdict, probed.box)
    checked["streak"] = context.last_check[session_id].streak
    side_by_side = None
    if verdict == identity.MISMATCH:
        side_by_side = _side_by_side(context, frame, probed.box)
    return FrameIdentity(data=checked, side_by_side=side_by_side, enrol=enrol)


def _compared(context: AttemptIdentity, probed: identity.ProbedFace) -> dict[str, Any]:
    checked: dict[str, Any] = {
        "model": identity_probe().model,
        "sim": None,
        "quality": probed.quality.to_dict() if probed.quality else {},
    }
    if probed.embedding is not None:
        sim = identity.similarity(np.stack(context.references), probed.embedding)
        checked["sim"] = round(sim, SIMILARITY_DECIMALS)
    else:
        checked["problem"] = probed.problem or face_quality.TOO_SMALL
    return checked


def _enrol_outcome(context, session_id: str, at_s: float, frame, probed) -> EnrolOutcome:
    base = {"attempt_id": context.attempt_id, "session_id": session_id, "at_s": at_s}
    if isinstance(probed, str):
        return EnrolOutcome(**base, problem=probed)
    if probed.problem or probed.embedding is None:
        return EnrolOutcome(**base, problem=probed.problem or face_quality.TOO_SMALL)
    if context.references:
        # A later reference must be the same person as the first ones: a frame of someone
        # else is never added (it is compared, and judged, like any other frame).
        decision = DEFAULT_THRESHOLDS.identity(identity_probe().model)
        sim = identity.similarity(np.stack(context.references), probed.embedding)
        if sim < decision.match_at:
            return EnrolOutcome(**base, problem="")
    context.references.append(probed.embedding)  # the batch's later frames compare with it
    return EnrolOutcome(
        **base,
        embedding=probed.embedding,
        crop_jpeg=vision.encode_jpeg(face_crop(frame, probed.box)),
        quality=probed.quality.to_dict(),
    )


def face_crop(frame: np.ndarray, box) -> np.ndarray:
    """The face with some context, as a reviewer sees it."""
    x1, y1, x2, y2 = box[:4]
    side = max(x2 - x1, y2 - y1) * CROP_CONTEXT
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    height, width = frame.shape[:2]
    left, top = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    right, bottom = int(min(width, cx + side / 2)), int(min(height, cy + side / 2))
    return frame[top:bottom, left:right].copy()


def _side_by_side(context: AttemptIdentity, frame: np.ndarray, box) -> bytes | None:
    """The reference face and the live face next to each other: the violation's evidence."""
    reference = _reference_crop(context)
    if reference is None:
        return None
    live = face_crop(frame, box)
    tiles = [_to_height(image, SIDE_BY_SIDE_HEIGHT) for image in (reference, live)]
    return vision.encode_jpeg(np.hstack(tiles))


def _reference_crop(context: AttemptIdentity) -> np.ndarray | None:
    if context._reference_crop is None and context.reference_evidence_id is not None:
        evidence = Evidence.objects.filter(pk=context.reference_evidence_id).first()
        if evidence is not None and evidence.file.name:
            with evidence.file.open("rb") as handle:
                context._reference_crop = vision.decode_jpeg(handle.read())
    return context._reference_crop


def _to_height(image: np.ndarray, height: int) -> np.ndarray:
    width = max(1, round(image.shape[1] * height / image.shape[0]))
    return cv2.resize(image, (width, height))


def enrolment_record(*, outcomes: Sequence[EnrolOutcome]) -> None:
    """Store the batch's new references (up to PROCTOR_IDENTITY_REFERENCES per attempt), mark an
    attempt enrolled at its first, and tell a candidate still enrolling what is wrong."""
    by_attempt: dict[int, list[EnrolOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_attempt[outcome.attempt_id].append(outcome)
    for attempt_id, found in by_attempt.items():
        _enrol_attempt(attempt_id, sorted(found, key=lambda o: o.at_s))


@transaction.atomic
def _enrol_attempt(attempt_id: int, outcomes: list[EnrolOutcome]) -> None:
    attempt = Attempt.objects.select_for_update().filter(pk=attempt_id).first()
    if attempt is None:
        return  # purged meanwhile
    profile = identity_profile(attempt=attempt)
    stored = attempt.identity_templates.filter(model=profile.model).count()
    for outcome in outcomes:
        if outcome.embedding is not None and stored < settings.PROCTOR_IDENTITY_REFERENCES:
            template_store(attempt=attempt, outcome=outcome, model=profile.model)
            stored += 1
    session = _session_of(outcomes)
    if stored and profile.status != IdentityStatus.ENROLLED:
        profile.status = IdentityStatus.ENROLLED
        profile.enrolled_at = timezone.now()
        profile.problem = ""
        profile.save(update_fields=["status", "enrolled_at", "problem"])
        _tell(session, {"code": ENROLLED_CODE, "state": "enrolled", "reason": ""})
        logger.info("attempt %s: identity enrolled", attempt.pk)
        return
    problems = [o.problem for o in outcomes if o.problem]
    if not stored and problems:
        _tell_problem(profile, session, problems[-1])


def identity_profile(*, attempt: Attempt) -> IdentityProfile:
    profile, _ = IdentityProfile.objects.get_or_create(
        attempt=attempt, defaults={"model": settings.PROCTOR_IDENTITY_MODEL}
    )
    return profile


def template_store(*, attempt: Attempt, outcome: EnrolOutcome, model: str) -> IdentityTemplate:
    evidence = Evidence(
        attempt=attempt,
        kind=EvidenceKind.REFERENCE,
        at_s=outcome.at_s,
        data={"reason": "identity_reference", "source": outcome.source, **outcome.quality},
    )
    evidence.file.save(f"{uuid.uuid4().hex}.jpg", ContentFile(outcome.crop_jpeg), save=True)
    return IdentityTemplate.objects.create(
        attempt=attempt,
        model=model,
        embedding_encrypted=signing.encrypt_template(outcome.embedding),
        evidence=evidence,
        source=outcome.source,
        at_s=outcome.at_s,
        quality=outcome.quality,
    )


def _session_of(outcomes: list[EnrolOutcome]) -> MediaSession | None:
    session_id = outcomes[-1].session_id if outcomes else None
    return MediaSession.objects.filter(pk=session_id).first() if session_id else None


def _tell_problem(profile: IdentityProfile, session: MediaSession | None, problem: str) -> None:
    """Tell the candidate when the problem changes, and again every TELL_EVERY_S while it lasts."""
    now = timezone.now()
    told_at = profile.problem_told_at
    stale = told_at is None or (
        (now - told_at).total_seconds() >= settings.PROCTOR_IDENTITY_TELL_EVERY_S
    )
    if problem == profile.problem and not stale:
        return
    profile.problem, profile.problem_told_at = problem, now
    profile.save(update_fields=["problem", "problem_told_at"])
    _tell(session, {"code": PROBLEM_CODES[problem], "state": "enrolling", "reason": problem})


def _tell(session: MediaSession | None, fields: dict[str, Any]) -> None:
    if session is not None:
        violation_push(session=session, message={"type": "identity", **fields})


def references_of(*, attempt: Attempt) -> list[np.ndarray]:
    """The attempt's reference embeddings; one that no longer decrypts is left out (logged)."""
    model = settings.PROCTOR_IDENTITY_MODEL
    found = []
    for template in attempt.identity_templates.filter(model=model).order_by("at_s", "pk"):
        try:
            found.append(signing.decrypt_template(template.embedding_encrypted))
        except RuntimeError:
            logger.error("attempt %s: a face template does not decrypt", attempt.pk)
    return found


def photo_identity(*, attempt: Attempt, session: MediaSession, at_s: float, jpeg: bytes) -> dict:
    """A random or test-taker photo: enrols the candidate if nothing is enrolled yet, else is
    compared with the references. Returns what to keep in the photo's evidence data."""
    frame = vision.decode_jpeg(jpeg)
    faces = human_counter().detect(frame)
    references = references_of(attempt=attempt)
    probed = identity_probe().enrolment_candidate(frame, [face.box for face in faces])
    if not references:
        context = AttemptIdentity(attempt.pk, False, [], None)
        outcome = _enrol_outcome(context, str(session.pk), at_s, frame, probed)
        enrolment_record(outcomes=[EnrolOutcome(**{**outcome.__dict__, "source": "photo"})])
        return {"identity": {"enrolment": outcome.problem or "reference"}}
    if isinstance(probed, str):
        return {"identity": {"verdict": identity.UNCERTAIN, "problem": probed}}
    context = AttemptIdentity(attempt.pk, True, references, None)
    checked = _compared(context, probed)
    verdict = DEFAULT_THRESHOLDS.identity(checked["model"]).verdict(
        checked["sim"], checked["quality"]
    )
    return {"identity": {**checked, "verdict": verdict}}
