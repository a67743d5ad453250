"""Request validation and response shapes of API v1."""

from django.core.validators import RegexValidator
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

import protocol
from proctoring.exceptions import UnsupportedProtocol
from proctoring.models import (
    TEST_ATTEMPT_ID_MAX_LENGTH,
    Attempt,
    Evidence,
    ReviewVerdict,
    WebhookDelivery,
)
from proctoring.selectors.attempts import ATTEMPT_ORDERINGS
from proctoring.statuses import AttemptStatus, ViolationType

MAX_PAGE_SIZE = 100
# Every attempt route holds the id as one path segment: an id with "/" would be created and then
# be unreachable (a 404 on every read). Control characters have no place in an id either.
TEST_ATTEMPT_ID_CHARACTERS = RegexValidator(
    r"^[^/\x00-\x1f\x7f]+\Z",
    message="may not contain '/' or control characters.",
)


def test_attempt_id_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=TEST_ATTEMPT_ID_MAX_LENGTH, validators=[TEST_ATTEMPT_ID_CHARACTERS]
    )


class AttemptCreateInput(serializers.Serializer):
    test_attempt_id = test_attempt_id_field()
    options = serializers.JSONField(required=False, default=dict)
    thresholds = serializers.JSONField(required=False, default=dict)
    score_profile = serializers.JSONField(required=False, default=dict)


class RescoreInput(serializers.Serializer):
    thresholds = serializers.JSONField(required=False, default=None)
    score_profile = serializers.JSONField(required=False, default=None)
    comment = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)


class AgentCredentialsInput(serializers.Serializer):
    client_id = serializers.CharField(max_length=64)
    test_attempt_id = test_attempt_id_field()
    hashed_test_attempt_id = serializers.CharField(max_length=128)


class AgentSessionInput(AgentCredentialsInput):
    protocol = serializers.IntegerField(
        required=False,
        default=protocol.VERSION,
        help_text="The protocol version the client speaks (protocol/protocol.json).",
    )
    options = serializers.JSONField(required=False, default=dict)
    offer = serializers.JSONField()

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
    details = serializers.JSONField(source="violation.details")
    evidence = EvidenceOutput(many=True)


class AttemptStatusOutput(serializers.ModelSerializer):
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


class AttemptSummaryOutput(serializers.ModelSerializer):
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
        ]


class AttemptOutput(serializers.ModelSerializer):
    """An attempt with its violations. The view passes the selector's AttemptDetail as the
    `detail` context entry; the attempt itself is the instance."""

    violations = serializers.SerializerMethodField()
    violation_counts = serializers.SerializerMethodField(help_text="violations per type")

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
            "review_verdict",
            "reviewed_at",
            "violation_counts",
            "violations",
        ]

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


class ResultsCredentialsQuery(serializers.Serializer):
    clientId = serializers.CharField(max_length=64)  # noqa: N815 (the SDK's names)
    unixTimestamp = serializers.IntegerField(min_value=0, max_value=2**40)  # noqa: N815
    hashedUnixTimestamp = serializers.CharField(max_length=128)  # noqa: N815


class ResultsQuery(ResultsCredentialsQuery):
    lookup_key = serializers.CharField(required=False, max_length=200)
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
