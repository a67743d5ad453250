"""SDK-compatible error and success codes, and the one exception the agent raises."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ErrorCode(IntEnum):
    """Setup/start failure codes, numbered as in the AutoProctor SDK."""

    INCOMPATIBLE_PLATFORM = 4001
    CAMERA_BLOCKED = 4002
    MICROPHONE_BLOCKED = 4003
    CAMERA_AND_MICROPHONE_BLOCKED = 4006
    MICROPHONE_NOT_READABLE = 4007
    CAMERA_NOT_READABLE = 4008
    NO_MICROPHONE = 4009
    NO_CAMERA = 4010
    SCREEN_SHARE_DENIED = 4011
    SCREEN_SOURCE_ERROR = 4012
    NO_SCREEN_SOURCE = 4013
    MUST_SHARE_ENTIRE_SCREEN = 4014
    MULTIPLE_MONITORS = 4015
    FAILED_TO_LOAD = 4018
    # Not in the SDK: the agent was used out of order, given bad options, or the server refused
    # the request. Kept outside the SDK's 40xx range so that no SDK code changes meaning.
    INVALID_STATE = 4900
    INVALID_OPTIONS = 4901
    SERVER_REJECTED = 4902
    CONNECTION_FAILED = 4903


class EventCode(IntEnum):
    """Codes of the events the agent reports on the `events` data channel."""

    RANDOM_PHOTO = 5003
    SWITCHED_AWAY = 5005
    RETURNED = 5006
    MULTIPLE_MONITORS = 5007
    TRACK_ENDED = 5008


class SuccessCode(IntEnum):
    """Progress codes carried by apProgressUpdate."""

    PERMISSION_CHECK_DONE = 2001
    ELEMENTS_READY = 2002
    MEDIA_AND_MODELS_READY = 2003


class AgentError(Exception):
    """A failure with an SDK code; `server_code` is the server's stable error code, if any."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        server_code: str | None = None,
        http_status: int | None = None,
        fatal: bool = True,
    ) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.server_code = server_code
        self.http_status = http_status
        self.fatal = fatal

    def to_detail(self) -> dict[str, Any]:
        """The apErrorEvent detail for this error."""
        detail: dict[str, Any] = {"code": int(self.code), "message": self.message}
        if self.server_code is not None:
            detail["serverCode"] = self.server_code
        if self.http_status is not None:
            detail["httpStatus"] = self.http_status
        if not self.fatal:
            # A warning: the agent carries on (absent means the call that raised it failed).
            detail["fatal"] = False
        return detail
