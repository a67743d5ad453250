"""The capture agent: an AutoProctor-style lifecycle streaming camera and microphone over WebRTC."""

# The agent's own distribution (packaging/agent/pyproject.toml) carries the same version.
__version__ = "0.2.0"

from agent.blocking import BlockingAutoProctor  # noqa: E402
from agent.codes import AgentError, ErrorCode, EvidenceCode, SuccessCode  # noqa: E402
from agent.events import AgentEvent  # noqa: E402
from agent.lifecycle import AutoProctor, State  # noqa: E402
from agent.options import TRACKING_DEFAULTS, validate_options  # noqa: E402

__all__ = [
    "TRACKING_DEFAULTS",
    "AgentError",
    "AgentEvent",
    "AutoProctor",
    "BlockingAutoProctor",
    "ErrorCode",
    "EvidenceCode",
    "State",
    "SuccessCode",
    "__version__",
    "validate_options",
]
