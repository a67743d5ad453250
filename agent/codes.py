"""SDK-compatible error, evidence and success codes, and the one exception the agent raises."""

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
# Codes carried by apSuccessEvent (detail.successCode).
SuccessCode = IntEnum("SuccessCode", protocol.codes("success"))
# Codes carried by apEvidenceEvent (detail.evidenceCode): the SDK's 5001-5009 and our 5010-5012.
EvidenceCode = IntEnum("EvidenceCode", protocol.codes("evidence"))


def code_messages(kind: str) -> dict[int, str]:
    """number -> the definition's human message, for one kind of code."""
    return {entry["code"]: entry["message"] for entry in protocol.definition()["codes"][kind]}


def one_line(text: str) -> str:
    """Messages are printed one per line: a tool's multi-line stderr must not break that."""
    return " ".join(str(text).split())


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
        message = one_line(message)
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.server_code = server_code
        self.http_status = http_status
        self.fatal = fatal

    def to_detail(self) -> dict[str, Any]:
        """The apErrorEvent detail for this error (the SDK's `errorCode`)."""
        detail: dict[str, Any] = {"errorCode": int(self.code), "message": self.message}
        if self.server_code is not None:
            detail["serverCode"] = self.server_code
        if self.http_status is not None:
            detail["httpStatus"] = self.http_status
        if not self.fatal:
            # A warning: the agent carries on (absent means the call that raised it failed).
            detail["fatal"] = False
        return detail
