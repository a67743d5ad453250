"""Request validation and response shapes of API v1."""

from django.core.validators import RegexValidator
from django.urls import reverse
from rest_framework import serializers

from proctoring.models import (
    TEST_ATTEMPT_ID_MAX_LENGTH,
    Attempt,
    Evidence,
    ReviewVerdict,
    Violation,
    WebhookDelivery,
)
from proctoring.review_selectors import ATTEMPT_ORDERINGS
from proctoring.statuses import AttemptStatus

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
    options = serializers.JSONField(required=False, default=dict)
    offer = serializers.JSONField()


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


class ViolationOutput(serializers.ModelSerializer):
    duration_s = serializers.FloatField(read_only=True)
    evidence = EvidenceOutput(many=True, read_only=True, source="evidence_items")

    class Meta:
        model = Violation
        fields = [
            "id",
            "type",
            "code",
            "start_s",
            "end_s",
            "duration_s",
            "started_at",
            "ended_at",
            "details",
            "evidence",
        ]


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
    violations = ViolationOutput(many=True, read_only=True, source="violation_list")
    violation_counts = serializers.DictField(
        child=serializers.IntegerField(), read_only=True, help_text="violations per type"
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
            "review_verdict",
            "reviewed_at",
            "violation_counts",
            "violations",
        ]


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


class ResultsQuery(serializers.Serializer):
    clientId = serializers.CharField(max_length=64)  # noqa: N815 (the SDK's names)
    unixTimestamp = serializers.IntegerField(min_value=0, max_value=2**40)  # noqa: N815
    hashedUnixTimestamp = serializers.CharField(max_length=128)  # noqa: N815
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
