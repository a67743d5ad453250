"""What the agent makes of the server's identity messages (issue #18): enrolment progress and
the ID card's result, as the SDK's success and non-fatal error events."""

from __future__ import annotations

import pytest

from agent import AgentError, AutoProctor, ErrorCode
from tests.agent.support import CREDENTIALS


def agent_with(events: list) -> AutoProctor:
    return AutoProctor(**CREDENTIALS, server="http://127.0.0.1:9", on_event=events.append)


@pytest.mark.parametrize(
    ("message", "event", "detail"),
    [
        (
            {"type": "identity", "code": 4907, "state": "enrolling", "reason": "too_small"},
            "apErrorEvent",
            {
                "errorCode": 4907,
                "message": "The face is too small: come closer to the camera.",
                "fatal": False,
            },
        ),
        (
            {"type": "identity", "code": 2004, "state": "enrolled", "reason": ""},
            "apSuccessEvent",
            {"successCode": 2004, "message": "The candidate's face is enrolled."},
        ),
        (
            {"type": "id_card", "code": 4909, "passed": False, "tries_left": 3},
            "apErrorEvent",
            {
                "errorCode": 4909,
                "message": "The face on the ID card could not be matched with the candidate.",
                "fatal": False,
            },
        ),
        (
            {"type": "id_card", "code": 2005, "passed": True, "tries_left": 0},
            "apSuccessEvent",
            {"successCode": 2005, "message": "The face on the ID card matches the candidate."},
        ),
    ],
)
def test_identity_messages_become_sdk_events(message, event, detail):
    events: list = []
    agent_with(events)._on_channel_message(message)
    assert [(e.name, e.detail) for e in events] == [(event, detail)]


def test_an_identity_message_with_an_unknown_code_is_ignored():
    events: list = []
    agent_with(events)._on_channel_message({"type": "identity", "code": 4999})
    assert events == []


def test_the_id_card_photo_is_asked_for_only_while_started():
    with pytest.raises(AgentError) as refused:
        agent_with([]).request_id_card_photo()
    assert refused.value.code == ErrorCode.INVALID_STATE
