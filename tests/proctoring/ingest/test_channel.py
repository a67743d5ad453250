"""Hostile data-channel messages are refused by the protocol definition's rules, counted, and
never raise in aiortc's callback (which would close the candidate's connection)."""

import json

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from proctoring.ingest.channel import MAX_MESSAGE_BYTES, Refused, parse_event
from proctoring.ingest.session import IngestSession


def event(code=5005, **detail) -> str:
    return json.dumps({"type": "event", "code": code, "t": 1.5, "detail": detail})


HOSTILE = [
    '{"type": "event", "code": Infinity, "t": 1}',
    '{"type": "event", "code": 1e400, "t": 1}',
    '{"type": "event", "code": 5005, "t": NaN}',
    '{"type": "event", "code": 5005, "t": 1e400}',
    "[" * 2000 + "]" * 2000,
    json.dumps({"type": "event", "code": 5005, "t": 1, "detail": {"title": ["x"] * 10}}),
    json.dumps({"type": "event", "code": 5005, "t": 1, "detail": [1, 2]}),
    json.dumps({"type": "event", "code": 4999, "t": 1}),
    json.dumps({"type": "event", "code": True, "t": 1}),
    json.dumps({"type": "violation", "code": 5002}),
    json.dumps({"type": "event", "code": 5007, "t": 1, "detail": {"monitors": "2"}}),
    "x" * (MAX_MESSAGE_BYTES + 1),
    b"binary".decode(),
    "not json",
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_a_hostile_message_is_refused(raw):
    with pytest.raises(Refused):
        parse_event(raw)


def test_text_is_made_storable_and_bounded_and_extra_fields_are_dropped():
    raw = event(title="Calc\x00ulator\ud800" + "y" * 500, capture=True, pid=42)
    code, detail = parse_event(raw)
    assert code == 5005
    assert set(detail) == {"title", "capture"}
    assert detail["title"].startswith("Calculator") and len(detail["title"]) == 200
    assert "\x00" not in detail["title"]
    detail["title"].encode("utf-8")  # no unpaired surrogate left


def test_the_session_counts_refusals_and_routes_good_events():
    session = IngestSession(
        session_id="s-ch", pc=RTCPeerConnection(RTCConfiguration(iceServers=[])),
        publisher=None, on_closed=None,
    )  # fmt: skip
    for raw in HOSTILE:
        session.on_agent_message(raw)  # must not raise
    assert session.bad_messages == len(HOSTILE)
    session.on_agent_message(event(5003, reason="random"))
    assert session._photo_reason == "random" and session.bad_messages == len(HOSTILE)
