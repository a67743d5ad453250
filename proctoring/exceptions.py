"""Domain errors, defined once; the API's exception handler maps them to one JSON shape."""


class ProctoringError(Exception):
    """A refusal with a stable machine code, a human message and an HTTP status."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ValidationFailed(ProctoringError):
    code = "validation_error"


class UnknownOption(ValidationFailed):
    code = "unknown_option"


class InvalidSdp(ValidationFailed):
    code = "invalid_sdp"


class UnsupportedProtocol(ValidationFailed):
    code = "unsupported_protocol"


class RequiredTrackMissing(ValidationFailed):
    """The first start's offer lacks a stream the attempt's options require."""

    code = "required_track_missing"


class AuthenticationFailed(ProctoringError):
    status_code = 401
    code = "unknown_client"


class InvalidHash(ProctoringError):
    status_code = 403
    code = "invalid_hash"


class InvalidSessionToken(ProctoringError):
    """Stop and status need the token of the attempt's current session, which only the client
    that started it holds: the attempt's HMAC alone (seen by anyone near the exam page) does not
    let a third party end someone else's test."""

    status_code = 403
    code = "invalid_session_token"


class OriginNotAllowed(ProctoringError):
    """A browser page on an origin the client did not list (Client.allowed_origins)."""

    status_code = 403
    code = "origin_not_allowed"


class TimestampExpired(ProctoringError):
    """The results page's signed timestamp is too old (or too far ahead)."""

    status_code = 403
    code = "timestamp_expired"


class InvalidLink(ProctoringError):
    """A signed evidence link that is forged, tampered with or expired."""

    status_code = 403
    code = "invalid_link"


class LinkExpired(ProctoringError):
    """A signed report link past its expiry: authentic, but the integrator must mint a new one."""

    status_code = 410
    code = "link_expired"


class NotFound(ProctoringError):
    status_code = 404
    code = "not_found"


class AttemptNotFound(NotFound):
    code = "attempt_not_found"


class Conflict(ProctoringError):
    status_code = 409
    code = "conflict"


class AttemptStopped(Conflict):
    code = "attempt_stopped"


class AttemptExists(Conflict):
    code = "attempt_exists"


class AttemptNotStarted(Conflict):
    code = "attempt_not_started"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class SessionInUse(Conflict):
    """A second live session, refused by the client's concurrent-sessions policy."""

    code = "session_in_use"


class SessionReplaced(Conflict):
    """A resume with the token of a session that another client's session took over."""

    code = "session_replaced"


class IngestUnavailable(ProctoringError):
    status_code = 503
    code = "ingest_unavailable"
