"""The SDK's proctoringOptions, checked against the protocol definition; errors name the option."""

from typing import Any

import protocol
from proctoring.exceptions import UnknownOption, ValidationFailed


def validate_options(raw: Any) -> dict[str, Any]:
    """Return the options with defaults filled in, or raise naming the first bad option."""
    try:
        return protocol.validate_options(raw)
    except protocol.OptionError as exc:
        raise (UnknownOption if exc.unknown else ValidationFailed)(exc.message) from None
