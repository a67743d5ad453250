"""Validation of the SDK's proctoringOptions: the protocol definition's, with the agent's error."""

from __future__ import annotations

from typing import Any

import protocol
from agent.codes import AgentError, ErrorCode

# The SDK's trackingOptions, same names and defaults (from the protocol definition).
TRACKING_DEFAULTS: dict[str, bool | int] = protocol.tracking_defaults()


def validate_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """Return a new, complete options dict, or raise AgentError (4901) naming the bad option."""
    try:
        return protocol.validate_options(options)
    except protocol.OptionError as exc:
        raise AgentError(ErrorCode.INVALID_OPTIONS, exc.message) from None
