"""Request validation and response shapes of API v1."""

import base64
import binascii
import dataclasses
import unicodedata

from django.conf import settings
from django.core.validators import RegexValidator
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

import protocol
import trust_score
from proctoring.analysis.thresholds import Thresholds
from proctoring.api import schema as api_schema
from proctoring.api.schema import offer_schema, options_schema
from proctoring.exceptions import UnsupportedProtocol
from proctoring.models import (
    TEST_ATTEMPT_ID_MAX_LENGTH,
    Attempt,
    ConcurrentSessions,
    Evidence,
    ReviewVerdict,
    ViolationVerdict,
    WebhookDelivery,
)
from proctoring.selectors.attempts import ATTEMPT_ORDERINGS, attempt_needs_review
from proctoring.statuses import AttemptStatus, ViolationType
from trust_score.profile import SCALAR_KEYS

MAX_PAGE_SIZE = 100
STREAM_ROLES = sorted(protocol.streams())
# Every attempt route holds the id as one path segment: an id with "/" would be created and then
# be unreachable (a 404 on every read). Control characters have no place in an id either.
TEST_ATTEMPT_ID_CHARACTERS = RegexValidator(
    r"^[^/\x00-\x1f\x7f]+\Z",
    message="may not contain '/' or control characters.",
)
# Invisible or direction-changing characters (zero-width, bidi overrides, line separators) make
# two ids that look alike differ, or one that differs look alike, in every report and admin list.
INVISIBLE_CATEGORIES = frozenset({"Cf", "Zl", "Zp"})  # control characters: the regex above


def _visible_and_untrimmed(value: str) -> None:
    """The id is the integrator's, byte for byte (its hash is of those bytes): refused, never
    rewritten, if it holds what would be stripped or cannot be seen."""
    if value != value.strip():
        raise serializers.ValidationError("may not start or end with whitespace.")
    if any(unicodedata.category(char) in INVISIBLE_CATEGORIES for char in value):
        raise serializers.ValidationError(
            "may not contain invisible or direction-changing characters."
        )


def test_attempt_id_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=TEST_ATTEMPT_ID_MAX_LENGTH,
        trim_whitespace=False,
        validators=[TEST_ATTEMPT_ID_CHARACTERS, _visible_and_untrimmed],
    )


@extend_schema_field(options_schema())
class OptionsField(serializers.JSONField):
    """proctoringOptions: any JSON arrives (protocol.options validates it into a 400 naming the
    option), but the schema tells a client exactly what passes; null is refused."""


@extend_schema_field(offer_schema())
class OfferField(serializers.JSONField):
    """The WebRTC offer: proctoring.sdp checks it; the schema says its shape and bound."""


def typed_json(schema: dict, **kwargs) -> serializers.JSONField:
    """A JSON value in a response, with the schema that says what it holds (a subclass per
    schema: extend_schema_field marks the class it decorates)."""
    field_class = type("TypedJSONField", (serializers.JSONField,), {})
    return extend_schema_field(schema)(field_class)(**kwargs)


def free_form_json(description: str, **kwargs) -> serializers.JSONField:
    return typed_json(api_schema.free_form(description), **kwargs)


class StrictSerializer(serializers.Serializer):
    """Refuses names it does not define, instead of silently dropping them: an override that
    is misspelt must not leave the default in force unnoticed."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({unknown[0]: ["This name is not defined."]})
        return super().to_internal_value(data)


def _number_field(annotation) -> serializers.Field:
    if annotation in (int, "int"):
        return serializers.IntegerField(required=False, min_value=0)
    return serializers.FloatField(required=False)


# One typed field per analysis threshold (proctoring/analysis/thresholds.py): a wrong type is a
# 400 naming the field, never a 500 in a worker or a silently clean score.
ThresholdsInput = type(
    "ThresholdsInput",
    (StrictSerializer,),
    {f.name: _number_field(f.type) for f in dataclasses.fields(Thresholds)},
)


def _per_type_input(name: str) -> type[serializers.Serializer]:
    fields = {t: serializers.FloatField(required=False) for t in trust_score.TYPE_ORDER}
    return type(name, (StrictSerializer,), fields)


# The Trust Score's profile (trust_score/profile.py): per-type weights and half points, scalars.
ScoreProfileInput = type(
    "ScoreProfileInput",
    (StrictSerializer,),
    {
        "weights": _per_type_input("ScoreWeightsInput")(required=False),
        "half_points": _per_type_input("ScoreHalfPointsInput")(required=False),
        **{key: serializers.FloatField(required=False) for key in SCALAR_KEYS},
    },
)


class AttemptCreateInput(serializers.Serializer):
    test_attempt_id = test_attempt_id_field()
    options = OptionsField(required=False, default=dict)
    thresholds = ThresholdsInput(required=False, default=dict)
    score_profile = ScoreProfileInput(required=False, default=dict)
    concurrent_sessions = serializers.ChoiceField(
        choices=ConcurrentSessions.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="What a second live session gets; empty means the client's setting.",
    )


class RescoreInput(serializers.Serializer):
    thresholds = ThresholdsInput(required=False, default=None)
    score_profile = ScoreProfileInput(required=False, default=None)
    comment = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)


class AgentCredentialsInput(serializers.Serializer):
    client_id = serializers.CharField(max_length=64)
    test_attempt_id = test_attempt_id_field()
    hashed_test_attempt_id = serializers.CharField(max_length=128)


class AgentSessionCredentialsInput(AgentCredentialsInput):
    session_token = serializers.CharField(
        max_length=128,
        required=False,
        default="",
        help_text="The token the start (or the last resume) returned: only the client that "
        "started the attempt holds it. Required once the attempt has a session.",
    )


class AgentOptionsInput(AgentCredentialsInput):
    options = OptionsField(required=False, default=dict)


class AgentOptionsOutput(serializers.Serializer):
    options = typed_json(
        api_schema.options_output_schema(), help_text="The options a start would run with."
    )
    ignored_options = serializers.ListField(
        child=serializers.CharField(),
        help_text="Options the client asked to set otherwise: the server's stand.",
    )
    required_streams = serializers.ListField(
        child=serializers.ChoiceField(choices=STREAM_ROLES),
        help_text="The streams the first start's offer must send.",
    )


class IceServerOutput(serializers.Serializer):
    urls = serializers.ListField(child=serializers.CharField())
    username = serializers.CharField(required=False)
    credential = serializers.CharField(required=False, help_text="Valid ttl_s seconds.")


class AgentIceServersOutput(serializers.Serializer):
    ice_servers = IceServerOutput(
        many=True, help_text="RTCConfiguration.iceServers: STUN, then TURN with credentials."
    )
    ttl_s = serializers.IntegerField(help_text="How long the TURN credentials are valid.")


class AgentSessionInput(AgentCredentialsInput):
    protocol = serializers.IntegerField(
        required=False,
        default=protocol.VERSION,
        help_text="The protocol version the client speaks (protocol/protocol.json).",
    )
    options = OptionsField(required=False, default=dict)
    offer = OfferField()
    track_roles = serializers.DictField(
        child=serializers.ChoiceField(choices=STREAM_ROLES),
        required=False,
        default=None,
        help_text="mid -> role (camera, microphone, screen) of the offer's media sections; "
        "without it, the agent's convention: the audio section, the first video, a video "
        "track whose id is 'screen'.",
    )
    resume_token = serializers.CharField(
        required=False,
        default=None,
        max_length=128,
        help_text="The session_token this client got from its last start: a resume with it is "
        "a reconnect, not a second session.",
    )

    def validate_protocol(self, value: int) -> int:
        if value not in protocol.SUPPORTED_VERSIONS:
            raise UnsupportedProtocol(
                f"protocol version {value} is not supported; this server speaks "
                f"{', '.join(map(str, protocol.SUPPORTED_VERSIONS))}."
            )
        return value


class EvidenceOutput(serializers.ModelSerializer):
    link = serializers.SerializerMethodField(
        help_text="POST here (authenticated) to mint a short-lived download URL."
    )

    data = free_form_json(
        "What the evidence shows: for photos, faces with their boxes ([x1, y1, x2, y2] px) and "
        "scores; for clips, their span."
    )

    class Meta:
        model = Evidence
        fields = ["id", "type", "kind", "at_s", "created_at", "data", "link"]

    def get_link(self, evidence: Evidence) -> str:
        path = reverse(
            "evidence-link",
            kwargs={
                "test_attempt_id": evidence.attempt.test_attempt_id,
                "evidence_id": evidence.pk,
            },
        )
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class ViolationReviewOutput(serializers.Serializer):
    """A reviewer's verdict on one violation (the review desk)."""

    verdict = serializers.ChoiceField(choices=ViolationVerdict.choices)
    comment = serializers.CharField(help_text="The reviewer's note, may be empty.")
    reviewed_at = serializers.DateTimeField(source="at")


class ViolationOutput(serializers.Serializer):
    """A violation with its evidence (selectors.violations.ViolationWithEvidence)."""

    id = serializers.IntegerField(source="violation.id")
    type = serializers.ChoiceField(choices=ViolationType.choices, source="violation.type")
    code = serializers.IntegerField(source="violation.code")
    start_s = serializers.FloatField(source="violation.start_s", help_text="seconds from start")
    end_s = serializers.FloatField(source="violation.end_s", help_text="seconds from start")
    duration_s = serializers.FloatField(source="violation.duration_s")
    started_at = serializers.DateTimeField(source="violation.started_at")
    ended_at = serializers.DateTimeField(source="violation.ended_at")
    details = free_form_json(
        "Per violation type: e.g. max_count (multiple_humans), stream (missing_stream).",
        source="violation.details",
    )
    evidence = EvidenceOutput(many=True)
    review = serializers.SerializerMethodField(
        help_text="The reviewer's verdict on this violation, or null while none is given."
    )

    @extend_schema_field(ViolationReviewOutput(allow_null=True))
    def get_review(self, item) -> dict | None:
        review = getattr(item.violation, "review", None)
        return None if review is None else ViolationReviewOutput(review).data


class AttemptStatusOutput(serializers.ModelSerializer):
    """What the candidate's client sees: the Trust Score only if the integrator opted in
    (Client.candidate_sees_score), so a candidate cannot probe what raises it."""

    trust_score = serializers.SerializerMethodField()

    def get_trust_score(self, attempt: Attempt) -> float | None:
        return attempt.trust_score if attempt.client.candidate_sees_score else None

    class Meta:
        model = Attempt
        fields = [
            "test_attempt_id",
            "status",
            "started_at",
            "finished_at",
            "trust_score",
            "evidence_status",
        ]


class AgentSessionOutput(serializers.Serializer):
    protocol = serializers.IntegerField()
    session_id = serializers.UUIDField()
    session_token = serializers.CharField(
        help_text="Returned to this client only; send it as resume_token when reconnecting."
    )
    resumed = serializers.BooleanField()
    attempt = AttemptStatusOutput()
    options = typed_json(
        api_schema.options_output_schema(),
        help_text="The options the attempt runs with (the server's).",
    )
    ignored_options = serializers.ListField(
        child=serializers.CharField(),
        help_text="Options the client asked to set otherwise: the server's stand.",
    )
    answer = typed_json(api_schema.answer_schema())


class RecordingLinkOutput(serializers.Serializer):
    session_id = serializers.UUIDField()
    url = serializers.URLField()
    expires_at = serializers.DateTimeField()


def _recording_link(request, attempt: Attempt, session) -> dict:
    from proctoring.services.evidence_access import recording_link_mint

    link = recording_link_mint(client=attempt.client, session=session)
    path = reverse("recording-download", kwargs={"token": link.token})
    url = request.build_absolute_uri(path) if request else path
    return RecordingLinkOutput(
        {"session_id": session.pk, "url": url, "expires_at": link.expires_at}
    ).data


class ReviewFlagMixin(serializers.Serializer):
    needs_review = serializers.SerializerMethodField(
        help_text="A person should look: review_reasons is not empty and no verdict is given."
    )
    review_reasons = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="low_score, second_person, multiple_sessions, missing_coverage, "
        "analysis_incomplete, abandoned, identity_mismatch, identity_unverified",
    )

    def get_needs_review(self, attempt: Attempt) -> bool:
        return attempt_needs_review(attempt)


class AttemptSummaryOutput(ReviewFlagMixin, serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = [
            "test_attempt_id",
            "status",
            "lookup_key",
            "created_at",
            "started_at",
            "finished_at",
            "trust_score",
            "score_version",
            "evidence_status",
            "review_verdict",
            "needs_review",
            "review_reasons",
        ]


class AttemptOutput(ReviewFlagMixin, serializers.ModelSerializer):
    """An attempt with its violations. The view passes the selector's AttemptDetail as the
    `detail` context entry; the attempt itself is the instance."""

    violations = serializers.SerializerMethodField()
    violation_counts = serializers.SerializerMethodField(help_text="violations per type")
    recording_url = serializers.SerializerMethodField(
        help_text="recordSession: a signed URL (valid PROCTOR_EVIDENCE_URL_TTL_S, byte ranges "
        "served) to the latest session's recording (WebM), or null when there is none."
    )
    recordings = serializers.SerializerMethodField(
        help_text="Every session's recording, oldest first, each a signed URL as recording_url."
    )
    user_details = typed_json(api_schema.user_details_schema())
    options = typed_json(api_schema.options_output_schema())
    thresholds = typed_json(api_schema.thresholds_schema())
    score_profile = typed_json(api_schema.score_profile_schema())
    score_breakdown = typed_json(api_schema.score_breakdown_schema())
    coverage = typed_json(api_schema.coverage_schema())
    identity = serializers.SerializerMethodField(
        help_text="The identity check (null when none was asked for): the result (verified, "
        "mismatch, uncertain, not_enrolled), enrolment, the compared frames and random photos "
        "with their similarities, and the ID card tries. Never an embedding."
    )

    class Meta:
        model = Attempt
        fields = [
            "test_attempt_id",
            "status",
            "lookup_key",
            "user_details",
            "test_duration_min",
            "options",
            "thresholds",
            "score_profile",
            "created_at",
            "started_at",
            "finished_at",
            "trust_score",
            "score_version",
            "score_breakdown",
            "evidence_status",
            "coverage",
            "needs_review",
            "review_reasons",
            "review_verdict",
            "reviewed_at",
            "options_source",
            "concurrent_sessions",
            "violation_counts",
            "violations",
            "recording_url",
            "recordings",
            "identity",
        ]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_recording_url(self, attempt: Attempt) -> str | None:
        found = self.get_recordings(attempt)
        return found[-1]["url"] if found else None

    @extend_schema_field(RecordingLinkOutput(many=True))
    def get_recordings(self, attempt: Attempt) -> list[dict]:
        if "recording_links" not in self.context:
            self.context["recording_links"] = [
                _recording_link(self.context.get("request"), attempt, session)
                for session in self.context.get("recordings", [])
            ]
        return self.context["recording_links"]

    @extend_schema_field(api_schema.identity_schema())
    def get_identity(self, attempt: Attempt) -> dict | None:
        summary = self.context.get("identity")
        return (
            None
            if summary is None
            else serializers.JSONField().to_representation(summary.to_dict())
        )

    @extend_schema_field(ViolationOutput(many=True))
    def get_violations(self, attempt: Attempt) -> list:
        detail = self.context["detail"]
        return ViolationOutput(detail.violations, many=True, context=self.context).data

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_violation_counts(self, attempt: Attempt) -> dict[str, int]:
        return self.context["detail"].violation_counts


ORDERING_CHOICES = sorted({*ATTEMPT_ORDERINGS, *(f"-{field}" for field in ATTEMPT_ORDERINGS)})


class AttemptListQuery(serializers.Serializer):
    lookup_key = serializers.CharField(required=False, max_length=200)
    status = serializers.ChoiceField(choices=AttemptStatus.choices, required=False)
    review_verdict = serializers.ChoiceField(choices=ReviewVerdict.choices, required=False)
    trust_score_min = serializers.FloatField(required=False, min_value=0, max_value=100)
    trust_score_max = serializers.FloatField(required=False, min_value=0, max_value=100)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    started_after = serializers.DateTimeField(required=False)
    started_before = serializers.DateTimeField(required=False)
    ordering = serializers.ChoiceField(
        choices=ORDERING_CHOICES, required=False, default="-created_at"
    )
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)


class PageOutput(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class AttemptPageOutput(PageOutput):
    results = AttemptSummaryOutput(many=True)


class EvidenceLinkOutput(serializers.Serializer):
    url = serializers.URLField()
    expires_at = serializers.DateTimeField()


class ReportLinkInput(StrictSerializer):
    ttl_s = serializers.IntegerField(
        required=False,
        min_value=settings.PROCTOR_REPORT_URL_MIN_TTL_S,
        max_value=settings.PROCTOR_REPORT_URL_MAX_TTL_S,
        help_text="How long the URL is valid, in seconds; PROCTOR_REPORT_URL_TTL_S (3600) "
        "when left out.",
    )


class ReportLinkOutput(serializers.Serializer):
    url = serializers.URLField(help_text="The report page; the URL is its only credential.")
    expires_at = serializers.DateTimeField()


class ResultsCredentialsQuery(serializers.Serializer):
    clientId = serializers.CharField(max_length=64)  # noqa: N815 (the SDK's names)
    unixTimestamp = serializers.IntegerField(min_value=0, max_value=2**40)  # noqa: N815
    hashedUnixTimestamp = serializers.CharField(max_length=128)  # noqa: N815

    lookup_key = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Only this lookup key's attempts; the signature then covers it: "
        "hashedUnixTimestamp = HMAC(secret, f'{unixTimestamp}:{lookup_key}').",
    )


class ResultsQuery(ResultsCredentialsQuery):
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)


class UsageMonthOutput(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM (UTC)")
    attempts = serializers.IntegerField(help_text="attempts started that month")
    minutes = serializers.FloatField(help_text="minutes proctored, start to finish")


class UsageOutput(serializers.Serializer):
    client_id = serializers.CharField()
    total_attempts = serializers.IntegerField()
    total_minutes = serializers.FloatField()
    months = UsageMonthOutput(many=True)


class WebhookDeliveryOutput(serializers.ModelSerializer):
    test_attempt_id = serializers.CharField(
        source="attempt.test_attempt_id", allow_null=True, default=None
    )
    payload = free_form_json("The event's JSON body, as POSTed (docs/api.md, webhooks).")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "test_attempt_id",
            "url",
            "status",
            "tries",
            "last_status_code",
            "last_error",
            "created_at",
            "last_tried_at",
            "delivered_at",
            "payload",
        ]


class WebhookDeliveryPageOutput(PageOutput):
    results = WebhookDeliveryOutput(many=True)


class PageQuery(serializers.Serializer):
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)


# --- Identity (issue #18) ---------------------------------------------------------------------
# The image travels base64 in JSON, within PROCTOR_MAX_REQUEST_BYTES (256 KiB by default: a card
# photo of 1000x630 px at JPEG quality 85 is about 120 KiB).
ID_CARD_IMAGE_MAX_CHARS = 4 * 1024 * 1024


@extend_schema_field(
    {
        "type": "string",
        "format": "byte",
        "maxLength": ID_CARD_IMAGE_MAX_CHARS,
        "description": "base64 (RFC 4648, with padding)",
    }
)
class IdCardImageField(serializers.CharField):
    """A JPEG or PNG image as base64 text; the value is the decoded bytes."""

    def to_internal_value(self, data) -> bytes:
        text = super().to_internal_value(data)
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError("Not valid base64.") from None


class IdCardInput(serializers.Serializer):
    image = IdCardImageField(
        max_length=ID_CARD_IMAGE_MAX_CHARS,
        help_text="The ID card (or the candidate holding it), a JPEG or PNG image in base64.",
    )


class AgentIdCardInput(AgentCredentialsInput, IdCardInput):
    pass


class IdCardCheckOutput(serializers.Serializer):
    attempt_number = serializers.IntegerField()
    source = serializers.CharField()
    passed = serializers.BooleanField()
    reason = serializers.CharField(
        help_text="Why it failed: no_face_on_card, card_face_unclear, no_live_face, mismatch, "
        "name_mismatch, expired."
    )
    similarity = serializers.FloatField(allow_null=True)
    text = typed_json(
        api_schema.id_card_text_schema(),
        help_text="What was read on the card: name (match, mismatch, unreadable, not_checked), "
        "expiry (YYYY-MM-DD or null), expired (true, false or null). Never the text itself.",
    )
    tries_left = serializers.IntegerField()
