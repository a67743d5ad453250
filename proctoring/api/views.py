"""API v1 views: validate input, call one service or selector, serialize the output."""

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import protocol
from proctoring.api import serializers as s
from proctoring.api import throttles
from proctoring.api.auth import (
    AttemptHmacAuthentication,
    HasAttemptCredential,
    IsClient,
    ResultsTimestampAuthentication,
)
from proctoring.api.pagination import paginated
from proctoring.api.parsers import BeaconJSONParser, JSONParser
from proctoring.api.schema import AUTH, BINARY_FILE, COMMON, errors, free_form
from proctoring.http_ranges import ranged_file_response
from proctoring.models import Attempt
from proctoring.options import options_for_start, validate_options
from proctoring.sdp import validate_offer
from proctoring.selectors import attempts as attempt_selectors
from proctoring.selectors import clients as client_selectors
from proctoring.selectors import evidence as evidence_selectors
from proctoring.selectors import identity as identity_selectors
from proctoring.selectors import violations as violation_selectors
from proctoring.selectors import webhooks as webhook_selectors
from proctoring.services import (
    attempts,
    evidence_access,
    ice_servers,
    id_cards,
    report_links,
    scoring,
    webhooks,
)

ATTEMPT_404 = ["attempt_not_found"]
TAGS_ATTEMPTS = ["attempts"]


class HealthView(APIView):
    """GET: 200 {"status": "ok"} when the web service answers. No authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["service"],
        responses={200: inline_serializer("Health", {"status": drf_serializers.CharField()})},
    )
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class ProtocolView(APIView):
    """GET: the client protocol definition (codes, events, options, channel messages), as the
    agent and the browser SDK read it. No authentication: it holds no secret."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["service"],
        responses={
            200: OpenApiResponse(
                free_form(
                    "protocol/protocol.json: codes, events with their detail fields, options "
                    "with defaults and bounds, data-channel messages (docs/agent-protocol.md)."
                )
            )
        },
    )
    def get(self, request: Request) -> HttpResponse:
        response = HttpResponse(protocol.raw_json(), content_type="application/json")
        response["Cache-Control"] = "public, max-age=300"
        return response


def _attempt_body(request: Request, attempt: Attempt) -> dict:
    detail = attempt_selectors.attempt_detail(attempt=attempt)
    identity = identity_selectors.attempt_identity_summary(attempt=attempt)
    recordings = evidence_selectors.attempt_recordings(attempt=attempt)
    context = {"request": request, "detail": detail, "identity": identity, "recordings": recordings}
    return s.AttemptOutput(attempt, context=context).data


def _id_card_body(check) -> dict:
    tries_left = 0 if check.passed else settings.PROCTOR_ID_CARD_MAX_TRIES - check.attempt_number
    body = {
        "attempt_number": check.attempt_number,
        "source": check.source,
        "passed": check.passed,
        "reason": check.reason,
        "similarity": check.similarity,
        "text": check.text,
        "tries_left": max(0, tries_left),
    }
    return s.IdCardCheckOutput(body).data


ID_CARD_409 = ["id_card_not_enabled", "id_card_verified", "id_card_tries_exhausted"]


class AttemptIdCardView(APIView):
    """The integrator uploads the candidate's ID card: its face is compared with the candidate's
    enrolled face (issue #18). 201 with the try's result, pass or fail."""

    @extend_schema(
        tags=TAGS_ATTEMPTS,
        request=s.IdCardInput,
        responses={
            201: s.IdCardCheckOutput,
            **errors(
                e400=["invalid_json", "validation_error"],
                e404=ATTEMPT_404,
                e409=ID_CARD_409,
                e415=["unsupported_media_type"],
                **AUTH,
            ),
        },
    )
    def post(self, request: Request, test_attempt_id: str) -> Response:
        # Whose attempt it is comes first: another client learns nothing from our validation.
        attempt = attempt_selectors.attempt_get_for_client(
            client=request.user, test_attempt_id=test_attempt_id
        )
        data = _validated(s.IdCardInput, request.data)
        check = id_cards.id_card_check(
            attempt=attempt, image=data["image"], source=id_cards.SOURCE_INTEGRATOR
        )
        return Response(_id_card_body(check), status=status.HTTP_201_CREATED)


class AttemptListCreateView(APIView):
    """Create an attempt, or list the client's attempts (filtered, ordered, paginated)."""

    @extend_schema(
        operation_id="v1_attempts_list",
        tags=TAGS_ATTEMPTS,
        parameters=[s.AttemptListQuery],
        responses={
            200: s.AttemptPageOutput,
            **errors(e400=["validation_error"], e404=["not_found"], **AUTH),
        },
    )
    def get(self, request: Request) -> Response:
        query = _validated(s.AttemptListQuery, request.query_params)
        filters = attempt_selectors.AttemptFilters(
            **{k: v for k, v in query.items() if k not in ("page", "page_size")}
        )
        found = attempt_selectors.attempt_list(client=request.user, filters=filters)
        return Response(paginated(request, found, s.AttemptSummaryOutput))

    @extend_schema(
        tags=TAGS_ATTEMPTS,
        request=s.AttemptCreateInput,
        responses={
            201: s.AttemptOutput,
            **errors(
                e400=["invalid_json", "validation_error", "unknown_option"],
                e409=["attempt_exists"],
                e415=["unsupported_media_type"],
                **AUTH,
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = _validated(s.AttemptCreateInput, request.data)
        attempt = attempts.attempt_create(
            client=request.user,
            test_attempt_id=data["test_attempt_id"],
            options=validate_options(data["options"]),
            thresholds=_plain(data["thresholds"]),
            score_profile=_plain(data["score_profile"]),
            concurrent_sessions=data["concurrent_sessions"],
        )
        return Response(_attempt_body(request, attempt), status=status.HTTP_201_CREATED)


class AttemptDetailView(APIView):
    """One attempt: score and breakdown, violation counts, violations with evidence links."""

    @extend_schema(
        tags=TAGS_ATTEMPTS,
        responses={200: s.AttemptOutput, **errors(e404=ATTEMPT_404, **AUTH)},
    )
    def get(self, request: Request, test_attempt_id: str) -> Response:
        attempt = attempt_selectors.attempt_get_for_client(
            client=request.user, test_attempt_id=test_attempt_id
        )
        return Response(_attempt_body(request, attempt))


class AttemptRescoreView(APIView):
    """Re-score from stored observations (no model runs) with other thresholds or weights."""

    @extend_schema(
        tags=TAGS_ATTEMPTS,
        request=s.RescoreInput,
        responses={
            200: s.AttemptOutput,
            **errors(
                e400=["invalid_json", "validation_error"],
                e404=ATTEMPT_404,
                e409=["attempt_not_stopped"],
                e415=["unsupported_media_type"],
                **AUTH,
            ),
        },
    )
    def post(self, request: Request, test_attempt_id: str) -> Response:
        data = _validated(s.RescoreInput, request.data)
        attempt = attempt_selectors.attempt_get_for_client(
            client=request.user, test_attempt_id=test_attempt_id
        )
        attempt = scoring.attempt_rescore(
            attempt=attempt,
            thresholds=_plain(data["thresholds"]),
            score_profile=_plain(data["score_profile"]),
            actor_label=f"client {request.user.client_id}",
            comment=data["comment"],
        )
        return Response(_attempt_body(request, attempt))


class ViolationListView(APIView):
    """The attempt's violations in time order, each with its evidence."""

    @extend_schema(
        tags=TAGS_ATTEMPTS,
        responses={200: s.ViolationOutput(many=True), **errors(e404=ATTEMPT_404, **AUTH)},
    )
    def get(self, request: Request, test_attempt_id: str) -> Response:
        attempt = attempt_selectors.attempt_get_for_client(
            client=request.user, test_attempt_id=test_attempt_id
        )
        found = violation_selectors.attempt_violations_with_evidence(attempt=attempt)
        return Response(s.ViolationOutput(found, many=True, context={"request": request}).data)


class ViolationDetailView(APIView):
    """One violation with its evidence."""

    @extend_schema(
        tags=TAGS_ATTEMPTS,
        responses={
            200: s.ViolationOutput,
            **errors(e404=["violation_not_found"], **AUTH),
        },
    )
    def get(self, request: Request, test_attempt_id: str, violation_id: str) -> Response:
        violation = violation_selectors.violation_get_for_client(
            client=request.user, test_attempt_id=test_attempt_id, violation_id=violation_id
        )
        return Response(s.ViolationOutput(violation, context={"request": request}).data)


class EvidenceListView(APIView):
    """Every evidence file of the attempt (violation evidence and random photos)."""

    @extend_schema(
        tags=["evidence"],
        responses={200: s.EvidenceOutput(many=True), **errors(e404=ATTEMPT_404, **AUTH)},
    )
    def get(self, request: Request, test_attempt_id: str) -> Response:
        attempt = attempt_selectors.attempt_get_for_client(
            client=request.user, test_attempt_id=test_attempt_id
        )
        found = evidence_selectors.attempt_evidence(attempt=attempt).select_related("attempt")
        return Response(s.EvidenceOutput(found, many=True, context={"request": request}).data)


class EvidenceLinkView(APIView):
    """Mint a download URL for one evidence file, valid PROCTOR_EVIDENCE_URL_TTL_S (5 min)."""

    @extend_schema(
        tags=["evidence"],
        request=None,
        responses={200: s.EvidenceLinkOutput, **errors(e404=["evidence_not_found"], **AUTH)},
    )
    def post(self, request: Request, test_attempt_id: str, evidence_id: str) -> Response:
        evidence = evidence_selectors.evidence_get_for_client(
            client=request.user, test_attempt_id=test_attempt_id, evidence_id=evidence_id
        )
        link = evidence_access.evidence_link_mint(client=request.user, evidence=evidence)
        path = reverse("evidence-download", kwargs={"token": link.token})
        url = request.build_absolute_uri(path)
        return Response(s.EvidenceLinkOutput({"url": url, "expires_at": link.expires_at}).data)


RANGE_HEADER = OpenApiParameter(
    "Range",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="One byte range, e.g. bytes=0-1023 (a media element seeking): 206 with "
    "Content-Range; a range past the end or several ranges: 416.",
)
RANGED_RESPONSES = {
    (200, "application/octet-stream"): BINARY_FILE,
    (206, "application/octet-stream"): OpenApiResponse(
        OpenApiTypes.BINARY, description="The range asked for (Content-Range, Accept-Ranges)."
    ),
}
RANGE_416 = {"e416": ["range_not_satisfiable"]}


class EvidenceDownloadView(APIView):
    """The file behind a signed link; the link is the credential, so no other auth. Byte
    ranges are served (206), so an audio clip can seek."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["evidence"],
        parameters=[RANGE_HEADER],
        responses={
            **RANGED_RESPONSES,
            **errors(e403=["invalid_link"], e404=["evidence_not_found"], **RANGE_416, **COMMON),
        },
    )
    def get(self, request: Request, token: str):
        evidence = evidence_access.evidence_for_link(token=token)
        return ranged_file_response(request, evidence.file)


class RecordingDownloadView(APIView):
    """A session recording (recordSession, WebM) behind a signed link, with byte ranges so a
    <video> element can seek. The attempt detail's recording_url is such a link."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["evidence"],
        parameters=[RANGE_HEADER],
        responses={
            **RANGED_RESPONSES,
            **errors(e403=["invalid_link"], e404=["recording_not_found"], **RANGE_416, **COMMON),
        },
    )
    def get(self, request: Request, token: str):
        session = evidence_access.recording_for_link(token=token)
        return ranged_file_response(request, session.recording)


class ReportLinkView(APIView):
    """Mint a signed, expiring URL to the attempt's read-only HTML report (SDK showReport),
    for an iframe on the client's pages (Client.report_frame_ancestors)."""

    @extend_schema(
        tags=["reports"],
        request=s.ReportLinkInput,
        responses={
            200: s.ReportLinkOutput,
            **errors(
                e400=["invalid_json", "validation_error"],
                e404=ATTEMPT_404,
                e415=["unsupported_media_type"],
                **AUTH,
            ),
        },
    )
    def post(self, request: Request, test_attempt_id: str) -> Response:
        attempt = attempt_selectors.attempt_get_for_client(
            client=request.user, test_attempt_id=test_attempt_id
        )
        data = _validated(s.ReportLinkInput, request.data or {})
        link = report_links.report_link_mint(
            client=request.user, attempt=attempt, ttl_s=data.get("ttl_s")
        )
        url = request.build_absolute_uri(reverse("report-page", kwargs={"token": link.token}))
        return Response(s.ReportLinkOutput({"url": url, "expires_at": link.expires_at}).data)


class ResultsView(APIView):
    """All attempts of a client for a page that must not hold the secret (SDK showResults).

    Credential: clientId, unixTimestamp and base64 (or hex) HMAC-SHA256 of the timestamp under
    the client secret; refused when older than 60 s. Failed checks are rate-limited.
    """

    authentication_classes = [ResultsTimestampAuthentication]
    permission_classes = [IsClient]

    @extend_schema(
        tags=["results"],
        auth=[],
        parameters=[s.ResultsQuery],
        responses={
            200: s.AttemptPageOutput,
            **errors(
                e400=["validation_error"],
                e401=["unknown_client"],
                e403=["invalid_hash", "timestamp_expired"],
                e404=["not_found"],
                **COMMON,
            ),
        },
    )
    def get(self, request: Request) -> Response:
        query = _validated(s.ResultsQuery, request.query_params)
        filters = attempt_selectors.AttemptFilters(lookup_key=query.get("lookup_key"))
        found = attempt_selectors.attempt_list(client=request.user, filters=filters)
        return Response(paginated(request, found, s.AttemptSummaryOutput))


class UsageView(APIView):
    """Attempts and minutes proctored for the calling client, per month (UTC)."""

    @extend_schema(tags=["usage"], responses={200: s.UsageOutput, **errors(**AUTH)})
    def get(self, request: Request) -> Response:
        months = client_selectors.client_usage_by_month(client=request.user)
        body = {
            "client_id": request.user.client_id,
            "total_attempts": sum(m["attempts"] for m in months),
            "total_minutes": round(sum(m["minutes"] for m in months), 2),
            "months": months,
        }
        return Response(s.UsageOutput(body).data)


class WebhookDeliveryListView(APIView):
    """The client's webhook delivery log, newest first."""

    @extend_schema(
        operation_id="v1_webhooks_deliveries_list",
        tags=["webhooks"],
        parameters=[s.PageQuery],
        responses={
            200: s.WebhookDeliveryPageOutput,
            **errors(e400=["validation_error"], e404=["not_found"], **AUTH),
        },
    )
    def get(self, request: Request) -> Response:
        _validated(s.PageQuery, request.query_params)
        found = webhook_selectors.webhook_deliveries(client=request.user)
        return Response(paginated(request, found, s.WebhookDeliveryOutput))


class WebhookDeliveryDetailView(APIView):
    """One delivery: payload, tries, last HTTP status or error."""

    @extend_schema(
        tags=["webhooks"],
        responses={200: s.WebhookDeliveryOutput, **errors(e404=["delivery_not_found"], **AUTH)},
    )
    def get(self, request: Request, delivery_id: str) -> Response:
        delivery = webhook_selectors.webhook_delivery_get_for_client(
            client=request.user, delivery_id=delivery_id
        )
        return Response(s.WebhookDeliveryOutput(delivery).data)


class WebhookDeliveryResendView(APIView):
    """Send a delivery again (same id and payload, fresh signature): 202."""

    @extend_schema(
        tags=["webhooks"],
        request=None,
        responses={202: s.WebhookDeliveryOutput, **errors(e404=["delivery_not_found"], **AUTH)},
    )
    def post(self, request: Request, delivery_id: str) -> Response:
        delivery = webhook_selectors.webhook_delivery_get_for_client(
            client=request.user, delivery_id=delivery_id
        )
        delivery = webhooks.webhook_resend(delivery=delivery)
        return Response(s.WebhookDeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)


AGENT_AUTH_ERRORS = {
    "e400": ["invalid_json", "validation_error"],
    "e401": ["unknown_client"],
    "e403": ["invalid_hash"],
    "e415": ["unsupported_media_type"],
    **COMMON,
}


class AgentView(APIView):
    """Agent endpoints authenticate with the attempt's HMAC, never with the client secret."""

    authentication_classes = [AttemptHmacAuthentication]
    permission_classes = [HasAttemptCredential]
    # Per candidate, not per integrator: all candidates of an exam stop and poll at once.
    throttle_classes = [throttles.AttemptRateThrottle, throttles.AgentIpRateThrottle]

    def _attempt(self, request: Request):
        return attempt_selectors.attempt_get_for_client(
            client=request.user.client, test_attempt_id=request.user.test_attempt_id
        )

    def _attempt_with_token(self, request: Request, *, action: str):
        data = _validated(s.AgentSessionCredentialsInput, request.data)
        attempt = self._attempt(request)
        attempts.session_token_check(
            attempt=attempt,
            token=data["session_token"],
            action=action,
            source=throttles.client_address(request),
        )
        return attempt


class AgentSessionView(AgentView):
    """Start or resume the attempt's media session with an SDP offer; 201 with the answer."""

    @extend_schema(
        tags=["agent"],
        auth=[],
        request=s.AgentSessionInput,
        responses={
            201: s.AgentSessionOutput,
            **errors(
                **{
                    **AGENT_AUTH_ERRORS,
                    "e400": [
                        "invalid_json",
                        "validation_error",
                        "unknown_option",
                        "invalid_sdp",
                        "unsupported_protocol",
                        "required_track_missing",
                    ],
                    "e404": ["attempt_not_found"],
                },
                e409=["attempt_stopped", "session_in_use", "session_replaced"],
                e503=["ingest_unavailable"],
            ),
        },
    )
    def post(self, request: Request) -> Response:
        # The HMAC was checked first (AttemptHmacAuthentication): a caller without a valid hash
        # gets no work done on its SDP or options.
        data = _validated(s.AgentSessionInput, request.data)
        options = validate_options(data["options"])
        offer = validate_offer(data["offer"])
        started = attempts.attempt_start_session(
            request=attempts.StartRequest(
                client=request.user.client,
                test_attempt_id=request.user.test_attempt_id,
                options=options,
                offer=offer,
                track_roles=data["track_roles"],
                resume_token=data["resume_token"],
            )
        )
        body = {
            "protocol": data["protocol"],
            "session_id": started.session.id,
            "session_token": started.token,
            "resumed": started.resumed,
            "attempt": started.attempt,
            "options": started.attempt.options,
            "ignored_options": list(started.ignored_options),
            "answer": started.answer,
        }
        return Response(s.AgentSessionOutput(body).data, status=status.HTTP_201_CREATED)


class AgentOptionsView(AgentView):
    """The options a start would run with, before the client opens its devices: the server's
    options are a floor (the integrator's, or those the attempt started with), a new attempt's
    are the client's within the client's policy. Nothing is created."""

    @extend_schema(
        tags=["agent"],
        auth=[],
        request=s.AgentOptionsInput,
        responses={
            200: s.AgentOptionsOutput,
            **errors(
                **{
                    **AGENT_AUTH_ERRORS,
                    "e400": ["invalid_json", "validation_error", "unknown_option"],
                }
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = _validated(s.AgentOptionsInput, request.data)
        client = request.user.client
        attempt = attempt_selectors.attempt_get_or_none(
            client=client, test_attempt_id=request.user.test_attempt_id
        )
        decision = options_for_start(
            floor=attempt_selectors.attempt_options_floor(attempt),
            requested=validate_options(data["options"]),
            required_checks=client.required_checks,
        )
        body = {
            "options": decision.options,
            "ignored_options": list(decision.ignored),
            "required_streams": sorted(
                protocol.required_streams(decision.options["trackingOptions"])
            ),
        }
        return Response(s.AgentOptionsOutput(body).data)


class AgentIceServersView(AgentView):
    """The ICE servers for the client's next peer connection: STUN, and TURN with credentials
    valid ttl_s (the TURN REST scheme). Asked before each connection, so a reconnect late in a
    long test gets fresh credentials."""

    @extend_schema(
        tags=["agent"],
        auth=[],
        request=s.AgentCredentialsInput,
        responses={200: s.AgentIceServersOutput, **errors(**AGENT_AUTH_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        body = ice_servers.ice_servers_for(client=request.user.client)
        return Response(s.AgentIceServersOutput(body).data)


class AgentStopView(AgentView):
    """Stop monitoring: 202 {status: stopping}, or 200 with the status when already stopped.

    Also takes the JSON as text/plain: the browser SDK sends the stop with
    `navigator.sendBeacon`, so it still arrives when the page is closing."""

    parser_classes = [JSONParser, BeaconJSONParser]

    @extend_schema(
        tags=["agent"],
        auth=[],
        request=s.AgentSessionCredentialsInput,
        responses={
            200: s.AttemptStatusOutput,
            202: s.AttemptStatusOutput,
            **errors(
                **{**AGENT_AUTH_ERRORS, "e403": ["invalid_hash", "invalid_session_token"]},
                e404=ATTEMPT_404,
                e409=["attempt_not_started"],
            ),
        },
    )
    def post(self, request: Request) -> Response:
        attempt = self._attempt_with_token(request, action="stop")
        was_stopped = attempt.status == "stopped"
        attempt = attempts.attempt_stop(attempt=attempt)
        code = status.HTTP_200_OK if was_stopped else status.HTTP_202_ACCEPTED
        return Response(s.AttemptStatusOutput(attempt).data, status=code)


class AgentIdCardView(AgentView):
    """The agent uploads the candidate's ID card image (issue #18); 201 with the try's result."""

    @extend_schema(
        tags=["agent"],
        auth=[],
        request=s.AgentIdCardInput,
        responses={
            201: s.IdCardCheckOutput,
            **errors(**AGENT_AUTH_ERRORS, e404=ATTEMPT_404, e409=ID_CARD_409),
        },
    )
    def post(self, request: Request) -> Response:
        data = _validated(s.AgentIdCardInput, request.data)
        check = id_cards.id_card_check(
            attempt=self._attempt(request), image=data["image"], source=id_cards.SOURCE_AGENT
        )
        return Response(_id_card_body(check), status=status.HTTP_201_CREATED)


class AgentStatusView(AgentView):
    """The attempt's status and, once scored, its Trust Score."""

    @extend_schema(
        tags=["agent"],
        auth=[],
        request=s.AgentSessionCredentialsInput,
        responses={
            200: s.AttemptStatusOutput,
            **errors(
                **{**AGENT_AUTH_ERRORS, "e403": ["invalid_hash", "invalid_session_token"]},
                e404=ATTEMPT_404,
            ),
        },
    )
    def post(self, request: Request) -> Response:
        attempt = self._attempt_with_token(request, action="status")
        return Response(s.AttemptStatusOutput(attempt).data)


def _plain(value):
    """A nested serializer's validated data as plain dicts (JSON for the model field)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _validated(serializer_class, payload) -> dict:
    serializer = serializer_class(data=payload)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
