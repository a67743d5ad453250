"""API v1 views: validate input, call one service, serialize the output."""

from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from proctoring import selectors
from proctoring.api import serializers as s
from proctoring.options import validate_options
from proctoring.sdp import validate_offer
from proctoring.services import attempts, scoring


class HealthView(APIView):
    """GET: 200 {"status": "ok"} when the web service answers. No authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class AttemptCreateView(APIView):
    """POST {test_attempt_id, options?} -> 201 attempt; 400 validation_error/unknown_option,
    401 not_authenticated/unknown_client, 409 attempt_exists."""

    def post(self, request: Request) -> Response:
        data = _validated(s.AttemptCreateInput, request.data)
        attempt = attempts.attempt_create(
            client=request.user,
            test_attempt_id=data["test_attempt_id"],
            options=validate_options(data["options"]),
            thresholds=data["thresholds"],
            score_profile=data["score_profile"],
        )
        return Response(s.AttemptOutput(attempt).data, status=status.HTTP_201_CREATED)


class AttemptDetailView(APIView):
    """GET -> 200 attempt with violations; 401; 404 attempt_not_found (also for other clients')."""

    def get(self, request: Request, test_attempt_id: str) -> Response:
        attempt = selectors.attempt_get_for_client(
            client=request.user, test_attempt_id=test_attempt_id
        )
        return Response(s.AttemptOutput(attempt).data)


class AttemptRescoreView(APIView):
    """POST {thresholds?, score_profile?, comment?} -> 200 attempt re-scored from its stored
    observations (no model runs); 400 validation_error, 401, 404 attempt_not_found,
    409 attempt_not_stopped."""

    def post(self, request: Request, test_attempt_id: str) -> Response:
        data = _validated(s.RescoreInput, request.data)
        attempt = selectors.attempt_get_for_client(
            client=request.user, test_attempt_id=test_attempt_id
        )
        attempt = scoring.attempt_rescore(
            attempt=attempt,
            thresholds=data["thresholds"],
            score_profile=data["score_profile"],
            actor_label=f"client {request.user.client_id}",
            comment=data["comment"],
        )
        return Response(s.AttemptOutput(attempt).data)


class AgentView(APIView):
    """Agent endpoints authenticate with the attempt's HMAC, never with the client secret."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def _attempt(self, data: dict):
        client = selectors.client_get_for_agent(
            client_id=data["client_id"],
            test_attempt_id=data["test_attempt_id"],
            hashed_test_attempt_id=data["hashed_test_attempt_id"],
        )
        return selectors.attempt_get_for_client(
            client=client, test_attempt_id=data["test_attempt_id"]
        )


class AgentSessionView(AgentView):
    """POST offer -> 201 {session_id, resumed, attempt, answer}. Errors: 400 invalid_json,
    validation_error, unknown_option, invalid_sdp; 401 unknown_client; 403 invalid_hash;
    409 attempt_stopped; 503 ingest_unavailable."""

    def post(self, request: Request) -> Response:
        data = _validated(s.AgentSessionInput, request.data)
        options = validate_options(data["options"])
        offer = validate_offer(data["offer"])
        client = selectors.client_get_for_agent(
            client_id=data["client_id"],
            test_attempt_id=data["test_attempt_id"],
            hashed_test_attempt_id=data["hashed_test_attempt_id"],
        )
        started = attempts.attempt_start_session(
            client=client, test_attempt_id=data["test_attempt_id"], options=options, offer=offer
        )
        body = {
            "session_id": str(started.session.id),
            "resumed": started.resumed,
            "attempt": s.AttemptStatusOutput(started.attempt).data,
            "answer": started.answer,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class AgentStopView(AgentView):
    """POST -> 202 {status: stopping}, or 200 with the status when already stopped.
    Errors: 401, 403 invalid_hash, 404 attempt_not_found, 409 attempt_not_started."""

    def post(self, request: Request) -> Response:
        attempt = self._attempt(_validated(s.AgentCredentialsInput, request.data))
        was_stopped = attempt.status == "stopped"
        attempt = attempts.attempt_stop(attempt=attempt)
        code = status.HTTP_200_OK if was_stopped else status.HTTP_202_ACCEPTED
        return Response(s.AttemptStatusOutput(attempt).data, status=code)


class AgentStatusView(AgentView):
    """POST -> 200 {test_attempt_id, status, started_at, finished_at, trust_score,
    evidence_status}."""

    def post(self, request: Request) -> Response:
        attempt = self._attempt(_validated(s.AgentCredentialsInput, request.data))
        return Response(s.AttemptStatusOutput(attempt).data)


def _validated(serializer_class, payload) -> dict:
    serializer = serializer_class(data=payload)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
