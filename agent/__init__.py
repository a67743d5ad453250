"""The capture agent: an AutoProctor-style lifecycle streaming camera and microphone over WebRTC."""

from agent.blocking import BlockingAutoProctor
from agent.codes import AgentError, ErrorCode, SuccessCode
from agent.events import AgentEvent
from agent.lifecycle import AutoProctor, State
from agent.options import TRACKING_DEFAULTS, validate_options

__all__ = [
    "TRACKING_DEFAULTS",
    "AgentError",
    "AgentEvent",
    "AutoProctor",
    "BlockingAutoProctor",
    "ErrorCode",
    "State",
    "SuccessCode",
    "validate_options",
]
