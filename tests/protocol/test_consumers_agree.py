"""One protocol definition: the server, the agent and the served copy all agree with it."""

import json
from pathlib import Path

import pytest

import protocol
from agent import events as agent_events
from agent.codes import ErrorCode, EventCode, SuccessCode
from agent.options import TRACKING_DEFAULTS as AGENT_DEFAULTS
from proctoring.ingest import session as ingest_session
from proctoring.services import agent_events as server_agent_events
from proctoring.statuses import ANALYSIS_TYPES, UNSCORED_TYPES, VIOLATION_CODES, ViolationType

DEFINITION = json.loads(
    (Path(protocol.__file__).parent / "protocol.json").read_text(encoding="utf-8")
)


def entries(kind: str) -> dict[str, int]:
    return {e["name"]: e["code"] for e in DEFINITION["codes"][kind]}


def test_the_definition_is_well_formed():
    assert isinstance(DEFINITION["version"], int)
    assert DEFINITION["version"] in DEFINITION["supported_versions"]
    ranges = {"success": range(2000, 3000), "error": range(4000, 5000), "evidence": (5000, 6000)}
    for kind, bounds in ranges.items():
        codes = [e["code"] for e in DEFINITION["codes"][kind]]
        assert len(codes) == len(set(codes)), f"a {kind} code appears twice"
        assert all(bounds[0] <= c < bounds[-1] for c in codes)
    evidence = set(entries("evidence").values())
    assert {t["code"] for t in DEFINITION["violation_types"]} <= evidence
    channel = {e["code"] for e in DEFINITION["channel"]["client_event_codes"]}
    assert channel <= evidence


def test_the_agents_codes_are_the_definitions():
    assert {c.name: c.value for c in ErrorCode} == entries("error")
    assert {c.name: c.value for c in SuccessCode} == entries("success")
    channel = {e["name"]: e["code"] for e in DEFINITION["channel"]["client_event_codes"]}
    assert {c.name: c.value for c in EventCode} == channel


def test_the_agents_events_are_the_definitions():
    assert frozenset(DEFINITION["events"]) == agent_events.EVENT_NAMES
    # Every event the agent names in code (SETUP_COMPLETED = "apSetupCompleted", ...) is defined.
    named = {
        value
        for name, value in vars(agent_events).items()
        if name.isupper() and isinstance(value, str) and value.startswith("ap")
    }
    assert named and named <= set(DEFINITION["events"])


def test_the_servers_violation_types_and_codes_are_the_definitions():
    types = DEFINITION["violation_types"]
    assert dict(ViolationType.choices) == {t["type"]: t["label"] for t in types}
    assert {t["type"]: t["code"] for t in types} == VIOLATION_CODES
    assert {t["type"] for t in types if t["analysis"]} == ANALYSIS_TYPES
    assert {t["type"] for t in types if not t["scored"]} == UNSCORED_TYPES


def test_the_server_records_the_channel_codes_the_definition_says():
    recorded = {
        e["code"]
        for e in DEFINITION["channel"]["client_event_codes"]
        if e["records"] == "violation"
    }
    assert recorded == ingest_session.RECORDED_EVENT_CODES
    assert recorded == server_agent_events.RECORDED_CODES
    photo = [
        e["code"]
        for e in DEFINITION["channel"]["client_event_codes"]
        if e["name"] == "RANDOM_PHOTO"
    ]
    assert photo == [ingest_session.PHOTO_REQUEST]


def test_tracking_defaults_are_one_set():
    defaults = {k: v["default"] for k, v in DEFINITION["options"]["trackingOptions"].items()}
    assert AGENT_DEFAULTS == defaults == protocol.tracking_defaults()


@pytest.mark.parametrize(
    "options",
    [
        None,
        {"trackingOptions": {"audio": False}},
        {"trackingOptions": {"numPhotosAtRandom": 101}},
        {"trackingOptions": {"bogus": True}},
        {"userDetails": {"name": "x" * 201}},
        {"testDuration": 0},
        {"lookupKey": 5},
        {"lookupKey": "a\x00b"},
        {"userDetails": {"email": "\udc00"}},
    ],
)
def test_the_server_and_the_agent_accept_and_refuse_the_same_options(options):
    from agent.codes import AgentError
    from agent.options import validate_options as agent_validate
    from proctoring.exceptions import ProctoringError
    from proctoring.options import validate_options as server_validate

    outcomes = []
    for validate, error in ((agent_validate, AgentError), (server_validate, ProctoringError)):
        try:
            outcomes.append(("ok", validate(options)))
        except error as exc:
            outcomes.append(("refused", exc.message))
    assert outcomes[0] == outcomes[1]


@pytest.mark.django_db
def test_the_server_serves_the_definition_byte_for_byte(anonymous_api):
    response = anonymous_api.get("/api/v1/protocol/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == DEFINITION


@pytest.mark.django_db
def test_an_unsupported_protocol_version_is_refused_by_name(anonymous_api, new_client):
    from tests.proctoring.builders import SESSIONS, session_body

    body = session_body(new_client, {"type": "offer", "sdp": "v=0"}, protocol=99)
    response = anonymous_api.post(SESSIONS, body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "unsupported_protocol",
        "message": "protocol version 99 is not supported; this server speaks 1.",
    }


def test_the_scored_violation_types_are_the_trust_scores():
    import trust_score

    scored = {t["type"] for t in DEFINITION["violation_types"] if t["scored"]}
    assert scored == set(trust_score.TYPES)
