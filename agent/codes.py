"""SDK-compatible error, event and success codes, and the one exception the agent raises."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import protocol

# The numbers and names come from the one protocol definition (protocol/protocol.json), which the
# server and the browser SDK read too.
ErrorCode = IntEnum("ErrorCode", protocol.codes("error"))
ErrorCode.__doc__ = """Setup/start failure codes: the AutoProctor SDK's 40xx and the agent's 49xx.

The 49xx codes (invalid state, invalid options, server refused, connection failed) are kept
outside the SDK's range so that no SDK code changes meaning."""
# Codes of the events the agent reports on the `events` data channel.
EventCode = IntEnum("EventCode", protocol.client_event_codes())
# Progress codes carried by apProgressUpdate.
SuccessCode = IntEnum("SuccessCode", protocol.codes("success"))


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
