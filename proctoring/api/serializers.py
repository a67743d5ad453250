"""Request validation and response shapes of API v1."""

from rest_framework import serializers

from proctoring.models import TEST_ATTEMPT_ID_MAX_LENGTH, Attempt, Violation


class AttemptCreateInput(serializers.Serializer):
    test_attempt_id = serializers.CharField(max_length=TEST_ATTEMPT_ID_MAX_LENGTH)
    options = serializers.JSONField(required=False, default=dict)
    thresholds = serializers.JSONField(required=False, default=dict)
    score_profile = serializers.JSONField(required=False, default=dict)


class RescoreInput(serializers.Serializer):
    thresholds = serializers.JSONField(required=False, default=None)
    score_profile = serializers.JSONField(required=False, default=None)
    comment = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)


class AgentCredentialsInput(serializers.Serializer):
    client_id = serializers.CharField(max_length=64)
    test_attempt_id = serializers.CharField(max_length=TEST_ATTEMPT_ID_MAX_LENGTH)
    hashed_test_attempt_id = serializers.CharField(max_length=128)


class AgentSessionInput(AgentCredentialsInput):
    options = serializers.JSONField(required=False, default=dict)
    offer = serializers.JSONField()


class ViolationOutput(serializers.ModelSerializer):
    duration_s = serializers.FloatField(read_only=True)

    class Meta:
        model = Violation
        fields = [
            "type",
            "code",
            "start_s",
            "end_s",
            "duration_s",
            "started_at",
            "ended_at",
            "details",
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


class AttemptOutput(serializers.ModelSerializer):
    violations = ViolationOutput(many=True, read_only=True)

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
            "violations",
        ]
