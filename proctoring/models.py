"""Clients, attempts, media sessions, raw observations and the violations merged from them."""

import datetime as dt
import uuid

from django.conf import settings
from django.db import models

from proctoring.branding import (
    LOGO_URL_MAX_LENGTH,
    report_frame_ancestors_validator,
    validate_logo_url,
)
from proctoring.messages import RECORDING_FOLDER
from proctoring.statuses import VIOLATION_CODES, AttemptStatus, EvidenceStatus, ViolationType
from proctoring.webhook_targets import validate_webhook_url

TEST_ATTEMPT_ID_MAX_LENGTH = 40
DEFAULT_RETENTION_DAYS = 90


class ReviewVerdict(models.TextChoices):
    UNREVIEWED = "unreviewed", "Unreviewed"
    CLEARED = "cleared", "Cleared"
    CONFIRMED = "confirmed", "Confirmed"
    INCONCLUSIVE = "inconclusive", "Inconclusive"


class ConcurrentSessions(models.TextChoices):
    """What a second live session of one attempt gets (it is a violation either way)."""

    TAKE_OVER = "take_over", "The newer session takes over"
    REFUSE = "refuse", "The newer session is refused"


class OptionsSource(models.TextChoices):
    API = "api", "Created by the integrator's API call"
    CLIENT = "client", "Created by the capture client at start"


class Client(models.Model):
    """An integrator (exam platform). Its secret is stored encrypted (see signing.py)."""

    name = models.CharField(max_length=200)
    client_id = models.CharField(max_length=64, unique=True)
    secret_encrypted = models.TextField(editable=False)
    is_active = models.BooleanField(default=True)
    # Overrides of the analysis thresholds and Trust Score weights for all its attempts.
    thresholds = models.JSONField(default=dict, blank=True)
    score_profile = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Where attempt.scored / attempt.reviewed events are POSTed (signed with the client secret).
    webhook_url = models.URLField(
        max_length=500, blank=True, default="", validators=[validate_webhook_url]
    )
    # Evidence files and observations older than this are purged (purge_expired).
    retention_days = models.PositiveIntegerField(default=DEFAULT_RETENTION_DAYS)
    # After a rotation the old secret keeps verifying until this time (attempts in flight).
    previous_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Signs webhooks (X-Proctor-Signature): its own secret, so a receiver never holds the API
    # secret, rotated on its own with a grace period of two signatures.
    webhook_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    webhook_previous_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    webhook_previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Policy for attempts the capture client creates at start (the SDK flow): these tracking
    # options are always on, whatever the client asks for.
    required_checks = models.JSONField(default=list, blank=True)
    # Refuse to start an attempt the integrator did not create through the API first.
    api_created_attempts_only = models.BooleanField(default=False)
    concurrent_sessions = models.CharField(
        max_length=16, choices=ConcurrentSessions.choices, default=ConcurrentSessions.TAKE_OVER
    )
    # apMonitoringStopped and the agent status show the candidate their Trust Score only if set.
    candidate_sees_score = models.BooleanField(default=False)
    # Browser SDK: the exam pages' origins ("https://exam.example.com") that may call the agent
    # endpoints from another origin (CORS); the server's own origin always may.
    allowed_origins = models.JSONField(default=list, blank=True)
    # Staff who review this client's attempts: a reviewer sees only the clients they are
    # assigned to (proctoring/admin/scoping.py); a superuser sees every client.
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="assigned_clients"
    )
    # Reports (issue #19): the name and logo shown on them, and the integrators' pages that may
    # show them in an iframe (CSP frame-ancestors; none listed: no page may).
    display_name = models.CharField(max_length=200, blank=True, default="")
    logo_url = models.CharField(
        max_length=LOGO_URL_MAX_LENGTH, blank=True, default="", validators=[validate_logo_url]
    )
    report_frame_ancestors = models.JSONField(
        default=list, blank=True, validators=[report_frame_ancestors_validator]
    )

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    @property
    def is_authenticated(self) -> bool:
        # The API puts the client where DRF expects a user.
        return True


class Attempt(models.Model):
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="attempts")
    test_attempt_id = models.CharField(max_length=TEST_ATTEMPT_ID_MAX_LENGTH)
    status = models.CharField(
        max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.CREATED
    )
    lookup_key = models.CharField(max_length=200, blank=True, default="")
    user_details = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    # Who fixed the options: an integrator's options are a floor no capture client can lower.
    options_source = models.CharField(
        max_length=8, choices=OptionsSource.choices, default=OptionsSource.CLIENT
    )
    # Empty: the client's setting (Client.concurrent_sessions).
    concurrent_sessions = models.CharField(
        max_length=16, choices=ConcurrentSessions.choices, blank=True, default=""
    )
    test_duration_min = models.PositiveIntegerField(null=True, blank=True)
    # Set by the integrator (never by the candidate's agent), on top of the client's.
    thresholds = models.JSONField(default=dict, blank=True)
    score_profile = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stop_requested_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    trust_score = models.FloatField(null=True, blank=True)
    score_version = models.CharField(max_length=32, blank=True, default="")
    score_breakdown = models.JSONField(default=dict, blank=True)
    evidence_status = models.CharField(
        max_length=16, choices=EvidenceStatus.choices, default=EvidenceStatus.PROCESSING
    )
    # Finalize's wait (issue #22): seconds it polled with a worker running and no analysis
    # progress, when it last polled, and what was pending then. Time with no worker to poll
    # does not count, so a worker back after an outage first does the queued work.
    finalize_waited_s = models.FloatField(default=0.0)
    finalize_polled_at = models.DateTimeField(null=True, blank=True)
    finalize_pending = models.IntegerField(null=True, blank=True)
    # Analysis recorded after the attempt was scored, not yet re-scored (debounced).
    late_evidence_at = models.DateTimeField(null=True, blank=True)
    # Per stream (camera, microphone, screen): required or not, and the seconds analysed.
    coverage = models.JSONField(default=dict, blank=True)
    # Why a reviewer should look, whatever the score (missing coverage, a second person, ...).
    review_reasons = models.JSONField(default=list, blank=True)
    # The reviewer's verdict: its own small state, changed only by services.reviews.
    review_verdict = models.CharField(
        max_length=16, choices=ReviewVerdict.choices, default=ReviewVerdict.UNREVIEWED
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviewed_attempts",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "test_attempt_id"], name="uniq_attempt_per_client"
            )
        ]
        indexes = [models.Index(fields=["client", "status"])]
        ordering = ["-created_at"]
        permissions = [("review_attempt", "Can set review verdicts on attempts")]

    def __str__(self) -> str:
        return self.test_attempt_id


class AttemptRecord(models.Model):
    """A row that audits an attempt. It outlives the attempt (a deleted attempt keeps its audit
    trail), so it names the attempt and its client in fields of its own, filled when it is
    first saved."""

    test_attempt_id = models.CharField(
        max_length=TEST_ATTEMPT_ID_MAX_LENGTH, blank=True, default="", editable=False
    )
    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # "name (client_id)" as it was: still readable after the client is deleted too.
    client_name = models.CharField(max_length=300, blank=True, default="", editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if self.attempt_id and not self.test_attempt_id:
            attempt = self.attempt
            self.test_attempt_id = attempt.test_attempt_id
            self.client_id = attempt.client_id
            self.client_name = str(attempt.client)
        super().save(*args, **kwargs)


class AttemptStatusChange(AttemptRecord):
    """Audit row for every status change: who (None = the system), when, from, to, why."""

    attempt = models.ForeignKey(
        Attempt, null=True, on_delete=models.SET_NULL, related_name="status_changes"
    )
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    reason = models.CharField(max_length=200, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]


class AttemptAuditEntry(AttemptRecord):
    """A privileged change to an attempt (re-score, verdict, reset): who, when, before, after."""

    attempt = models.ForeignKey(
        Attempt, null=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    action = models.CharField(max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(max_length=200, blank=True, default="")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    comment = models.TextField(blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]


class MediaSession(models.Model):
    """One WebRTC connection of an attempt; a resumed attempt gets a new one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="sessions")
    ingest_node = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    # Seconds from attempt.started_at to this session's media time zero.
    offset_s = models.FloatField(default=0.0)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Set by the ingest when it closes the session: how many samples it handed to the workers.
    samples_enqueued = models.PositiveIntegerField(null=True, blank=True)
    close_reason = models.CharField(max_length=64, blank=True, default="")
    # sha256 of the token returned to the client that started it: a resume presenting it is the
    # same client reconnecting, not a second session.
    token_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    # The streams the offer carried, by role: {"camera": "0", "microphone": "1", ...} (mids).
    tracks = models.JSONField(default=dict, blank=True)
    # Per stream, the media-time spans the media process received and handed on (or dropped):
    # what reached the server, against which the analysed time is measured.
    delivered = models.JSONField(default=dict, blank=True)
    # Messages the client sent on its events channel that the media process refused (size,
    # rate, shape): a candidate's machine probing the server shows here.
    bad_messages = models.PositiveIntegerField(default=0)
    # recordSession: the received streams, written by the ingest (aiortc MediaRecorder).
    recording = models.FileField(upload_to=f"{RECORDING_FOLDER}/", blank=True, default="")

    class Meta:
        ordering = ["created_at"]


class ObservationKind(models.TextChoices):
    VIDEO = "video", "Video frame"
    AUDIO = "audio", "Audio window"


class Observation(models.Model):
    """A raw analysis result, kept so attempts can be re-scored without re-running models."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="observations")
    session = models.ForeignKey(MediaSession, on_delete=models.CASCADE, related_name="observations")
    kind = models.CharField(max_length=8, choices=ObservationKind.choices)
    seq = models.PositiveIntegerField()
    media_time = models.FloatField(help_text="seconds from the session's first sample")
    attempt_time = models.FloatField(help_text="seconds from the attempt's start")
    duration_s = models.FloatField()
    data = models.JSONField(default=dict)
    # The violation type this sample shows on its own (before K-of-N smoothing), or "".
    finding = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Redelivered tasks write the same key: recording is idempotent.
            models.UniqueConstraint(fields=["session", "kind", "seq"], name="uniq_observation")
        ]
        indexes = [models.Index(fields=["attempt", "kind", "attempt_time"])]


class Violation(models.Model):
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="violations")
    type = models.CharField(max_length=32, choices=ViolationType.choices)
    code = models.PositiveIntegerField()
    start_s = models.FloatField(help_text="seconds from the attempt's start")
    end_s = models.FloatField(help_text="seconds from the attempt's start")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True)
    observation_count = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start_s", "id"]
        indexes = [models.Index(fields=["attempt", "type", "start_s"])]

    @classmethod
    def for_span(
        cls,
        *,
        attempt: "Attempt",
        type: str,
        start_s: float,
        end_s: float,
        details: dict,
        observation_count: int = 1,
    ) -> "Violation":
        """An unsaved violation: the code follows the type, wall times follow the attempt."""
        violation = cls(
            attempt=attempt,
            type=type,
            code=VIOLATION_CODES[type],
            details=details,
            observation_count=observation_count,
        )
        violation.set_span(start_s, end_s)
        return violation

    def set_span(self, start_s: float, end_s: float) -> None:
        self.start_s, self.end_s = start_s, end_s
        self.started_at = self.attempt.started_at + dt.timedelta(seconds=start_s)
        self.ended_at = self.attempt.started_at + dt.timedelta(seconds=end_s)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class EvidenceKind(models.TextChoices):
    PHOTO = "photo", "Webcam photo"
    AUDIO = "audio", "Audio clip"
    SCREENSHOT = "screenshot", "Screenshot"
    RANDOM_PHOTO = "random_photo", "Random photo"
    # Identity (issue #18): a face crop enrolled as the candidate's reference, an ID card image.
    REFERENCE = "reference", "Reference face"
    ID_CARD = "id_card", "ID card"


class Evidence(models.Model):
    """A file captured when a violation started; served to staff and the owning client only."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="evidence")
    # The violation type it documents; empty for random and test-taker photos.
    type = models.CharField(max_length=32, choices=ViolationType.choices, blank=True, default="")
    kind = models.CharField(max_length=16, choices=EvidenceKind.choices)
    at_s = models.FloatField(help_text="seconds from the attempt's start")
    file = models.FileField(upload_to="evidence/%Y/%m/%d/")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at_s", "id"]


# --- Review of single violations, webhook deliveries ---------------------------------------


class ViolationVerdict(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    DISMISSED = "dismissed", "Dismissed"


class ViolationReview(AttemptRecord):
    """A reviewer's judgement of one violation, with the detector that produced it.

    Type, span and detector are copied so the per-detector precision figure survives a re-score
    (which rebuilds the model-derived violations) and the deletion of the attempt.
    """

    attempt = models.ForeignKey(
        Attempt, null=True, on_delete=models.SET_NULL, related_name="violation_reviews"
    )
    violation = models.OneToOneField(
        Violation, null=True, blank=True, on_delete=models.SET_NULL, related_name="review"
    )
    type = models.CharField(max_length=32, choices=ViolationType.choices)
    start_s = models.FloatField()
    end_s = models.FloatField()
    detector = models.CharField(max_length=32)
    verdict = models.CharField(max_length=16, choices=ViolationVerdict.choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    comment = models.TextField(blank=True, default="")
    at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["attempt", "start_s", "id"]
        indexes = [models.Index(fields=["detector", "type", "verdict"])]


class WebhookEvent(models.TextChoices):
    ATTEMPT_SCORED = "attempt.scored", "Attempt scored"
    ATTEMPT_REVIEWED = "attempt.reviewed", "Attempt reviewed"
    ATTEMPT_RESCORED = "attempt.rescored", "Attempt re-scored after late evidence"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to a client's webhook URL; the log shown in the admin."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="webhook_deliveries")
    attempt = models.ForeignKey(
        Attempt, null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    event = models.CharField(max_length=32, choices=WebhookEvent.choices)
    url = models.URLField(max_length=500)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    tries = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_tried_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["client", "created_at"])]


# --- Identity (issue #18) -------------------------------------------------------------------


class IdentityStatus(models.TextChoices):
    ENROLLING = "enrolling", "Enrolling"
    ENROLLED = "enrolled", "Enrolled"


class IdentityProfile(models.Model):
    """The attempt's identity check: which model, how far enrolment got, the last problem the
    candidate was told about (so a problem is pushed once, not on every frame)."""

    attempt = models.OneToOneField(Attempt, on_delete=models.CASCADE, related_name="identity")
    model = models.CharField(max_length=32)
    status = models.CharField(
        max_length=16, choices=IdentityStatus.choices, default=IdentityStatus.ENROLLING
    )
    problem = models.CharField(max_length=32, blank=True, default="")
    problem_told_at = models.DateTimeField(null=True, blank=True)
    enrolled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class IdentityTemplate(models.Model):
    """One reference embedding of the candidate's face: biometric data, so encrypted at rest
    (signing.encrypt_template), never logged, never returned by the API, and purged with the
    attempt's evidence (services/retention.py)."""

    attempt = models.ForeignKey(
        Attempt, on_delete=models.CASCADE, related_name="identity_templates"
    )
    model = models.CharField(max_length=32)
    embedding_encrypted = models.TextField(editable=False)
    # The face crop it was taken from (EvidenceKind.REFERENCE): what a reviewer compares with.
    evidence = models.ForeignKey(
        Evidence, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=16)  # "camera" (a sampled frame) or "photo"
    at_s = models.FloatField(help_text="seconds from the attempt's start")
    quality = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["attempt", "at_s", "id"]


class IdCardCheck(models.Model):
    """One try of the ID card check: the card's face against the candidate's."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="id_card_checks")
    attempt_number = models.PositiveIntegerField()
    source = models.CharField(max_length=16)  # "camera", "agent" or "integrator"
    passed = models.BooleanField(default=False)
    # Why it failed ("" when it passed): no_face_on_card, card_face_unclear, no_live_face,
    # mismatch, name_mismatch, expired.
    reason = models.CharField(max_length=32, blank=True, default="")
    # What was read on the card (OCR): {"name": match|mismatch|unreadable|not_checked,
    # "expiry": "YYYY-MM-DD" or null, "expired": bool or null}. Verdicts only, never the text.
    text = models.JSONField(default=dict, blank=True)
    similarity = models.FloatField(null=True, blank=True)
    model = models.CharField(max_length=32)
    card_evidence = models.ForeignKey(
        Evidence, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    face_evidence = models.ForeignKey(
        Evidence, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["attempt", "attempt_number"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "attempt_number"], name="uniq_id_card_try")
        ]
