"""Event shapes, driven from the protocol definition: the SDK's names and detail fields.

Every test of the agent also runs with AUTOPROCTOR_STRICT_EVENTS (tests/agent/conftest.py), so
any event emitted anywhere in them with a shape the definition does not give fails its test.
"""

from __future__ import annotations

import io
import json

import pytest

import protocol
from agent import events as ev
from agent.codes import AgentError, ErrorCode, EventCode, SuccessCode
from agent.console import HumanPrinter, JsonPrinter
from agent.events import AgentEvent, EventDispatcher, shape_problems

DEFINITION = protocol.definition()
EVENTS = DEFINITION["events"]
# The AutoProctor SDK's own names for the code in each custom event's detail.
SDK_CODE_FIELDS = {
    "apSuccessEvent": ("successCode", "success"),
    "apErrorEvent": ("errorCode", "error"),
    "apEvidenceEvent": ("evidenceCode", "evidence"),
}
SDK_EVENTS = {
    "apSetupCompleted",
    "apMonitoringStarted",
    "apMonitoringStopped",
    "apInstanceDestroyed",
    *SDK_CODE_FIELDS,
}
# The SDK's events only a browser can emit (the definition's "clients"): setup's progress bar.
BROWSER_ONLY_EVENTS = {"apProgressUpdate"}


def test_the_definition_has_the_sdks_events_and_marks_the_rest_as_extensions():
    assert set(EVENTS) >= SDK_EVENTS | BROWSER_ONLY_EVENTS
    extensions = {name for name, spec in EVENTS.items() if spec.get("extension")}
    assert extensions == set(EVENTS) - SDK_EVENTS - BROWSER_ONLY_EVENTS
    assert extensions == {"apConnectionStateChange"}
    browser_only = {n for n, spec in EVENTS.items() if spec.get("clients") == ["browser"]}
    assert browser_only == BROWSER_ONLY_EVENTS
    # The names the agent used before the SDK's are gone (apProgressUpdate is the browser
    # SDK's progress bar now, which the agent does not emit).
    assert "apTrackingEvent" not in EVENTS


@pytest.mark.parametrize(("name", "field_kind"), SDK_CODE_FIELDS.items())
def test_each_custom_event_carries_the_sdks_code_field(name, field_kind):
    field, kind = field_kind
    assert EVENTS[name]["code"] == {"field": field, "kind": kind}
    assert EVENTS[name]["detail"][field] == "integer"
    assert "code" not in EVENTS[name]["detail"]


def test_the_agent_names_exactly_the_defined_events():
    named = {value for key, value in vars(ev).items() if key.isupper() and str(value)[:2] == "ap"}
    assert named == set(EVENTS) - BROWSER_ONLY_EVENTS
    assert set(EVENTS) == ev.EVENT_NAMES


@pytest.mark.parametrize("code", list(SuccessCode))
def test_every_success_code_makes_a_defined_apSuccessEvent(code):
    detail = ev.success_detail(code)
    assert detail["successCode"] == int(code)
    assert shape_problems(ev.SUCCESS, detail) == []


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_error_code_makes_a_defined_apErrorEvent(code):
    error = AgentError(code, "went\nwrong", server_code="x", http_status=409, fatal=False)
    assert error.to_detail() == {
        "errorCode": int(code),
        "message": "went wrong",  # one line, always
        "serverCode": "x",
        "httpStatus": 409,
        "fatal": False,
    }
    assert shape_problems(ev.ERROR, error.to_detail()) == []


@pytest.mark.parametrize("code", list(EventCode))
def test_every_event_the_agent_reports_is_an_apEvidenceEvent_from_the_client(code):
    message = {"type": "event", "code": int(code), "t": 1.5, "detail": {"title": "Calculator"}}
    detail = ev.client_evidence_detail(message)
    assert detail == {
        "evidenceCode": int(code),
        "message": next(c["message"] for c in DEFINITION["codes"]["evidence"] if c["code"] == code),
        "source": "client",
        "t": 1.5,
        "data": {"title": "Calculator"},
    }
    assert shape_problems(ev.EVIDENCE, detail) == []


@pytest.mark.parametrize("violation", DEFINITION["violation_types"], ids=lambda v: v["type"])
def test_every_violation_the_server_pushes_is_an_apEvidenceEvent_from_the_server(violation):
    message = {"type": "violation", "code": violation["code"], "violation": violation["type"]}
    detail = ev.server_evidence_detail({**message, "start_s": 12})
    assert detail["evidenceCode"] == violation["code"]
    assert (detail["source"], detail["violation"], detail["startS"]) == (
        "server",
        violation["type"],
        12.0,
    )
    assert shape_problems(ev.EVIDENCE, detail) == []


def test_a_pushed_violation_with_an_unknown_code_is_not_emitted(caplog):
    assert ev.server_evidence_detail({"type": "violation", "code": 5999}) is None
    assert "unknown code 5999" in caplog.text


@pytest.mark.parametrize(
    ("name", "detail", "problem"),
    [
        ("apErrorEvent", {"code": 4001, "message": "m"}, "apErrorEvent: 'code' is not in the"),
        ("apErrorEvent", {"message": "m"}, "apErrorEvent: 'errorCode' is missing"),
        ("apErrorEvent", {"errorCode": 4999, "message": "m"}, "errorCode 4999 is not a code"),
        ("apSuccessEvent", {"successCode": 2001, "message": 3}, "'message' is 3, not string"),
        ("apErrorEvent", {"errorCode": 4001, "message": "m", "fatal": 0}, "'fatal' is 0"),
        ("apMonitoringStopped", {"trustScore": "90"}, "'trustScore' is '90', not number|null"),
        ("apConnectionStateChange", {"state": "sleepy"}, "'state' is 'sleepy', not one of"),
        ("apTrackingEvent", {}, "'apTrackingEvent' is not an event of the protocol"),
    ],
)
def test_shapes_the_definition_does_not_give_are_found(name, detail, problem):
    assert any(problem in found for found in shape_problems(name, detail))


def test_in_strict_mode_a_wrong_shape_fails_the_emit():
    with pytest.raises(AssertionError, match="'code' is not in the definition"):
        EventDispatcher().emit(ev.ERROR, {"code": 4001, "message": "old shape"})


def test_json_output_is_the_event_name_and_the_detail_as_the_browser_sdk_has_them():
    out = io.StringIO()
    detail = ev.success_detail(SuccessCode.PERMISSION_CHECK_DONE)
    JsonPrinter(out)(AgentEvent(ev.SUCCESS, detail))
    assert json.loads(out.getvalue()) == {
        "event": "apSuccessEvent",
        "detail": {"successCode": 2001, "message": "Permission check done."},
    }


def test_human_output_puts_errors_once_on_stderr():
    out, err = io.StringIO(), io.StringIO()
    printer = HumanPrinter(out, err)
    error = AgentError(ErrorCode.FAILED_TO_LOAD, "server down")
    printer(AgentEvent(ev.ERROR, error.to_detail()))
    printer.error(error)  # the CLI's catch-all: already printed, so not again
    warning = AgentError(ErrorCode.MULTIPLE_MONITORS, "2 monitors", fatal=False)
    printer(AgentEvent(ev.ERROR, warning.to_detail()))
    evidence = ev.server_evidence_detail({"code": 5002, "violation": "multiple_humans"})
    printer(AgentEvent(ev.EVIDENCE, evidence))
    assert err.getvalue().splitlines() == ["error 4018: server down", "warning 4015: 2 monitors"]
    assert out.getvalue().splitlines() == [
        "evidence 5002: More than one person in front of the camera. (multiple_humans)"
    ]
