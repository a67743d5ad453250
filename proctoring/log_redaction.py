"""Credentials that travel in URLs never reach a log line.

An evidence or recording download link and a report link carry their signed token in the
path, and the results pages their hashedUnixTimestamp in the query string: all are live
credentials for minutes or hours. Access logs
(uvicorn's, Django's runserver and request logs) would otherwise write them out whole."""

import logging
import re

REDACTED = "[redacted]"
# Query parameters whose value is a credential, wherever they appear.
CREDENTIAL_PARAMETERS = (
    "hashedUnixTimestamp",
    "hash",
    "token",
    "session_token",
    "resume_token",
    "signature",
    "sig",
)
_QUERY = re.compile(
    r"(?P<name>[?&](?:" + "|".join(CREDENTIAL_PARAMETERS) + r"))=(?P<value>[^&\s\"']*)",
    re.IGNORECASE,
)
# Path segments that are credentials: the signed tokens of an evidence or recording download
# and of a report page (issue #19).
_PATH = re.compile(
    r"(?P<prefix>/(?:evidence/download|recordings/download|reports/attempt)/)"
    r"(?P<token>[^/?\s\"']+)"
)


def redact(text: str) -> str:
    text = _QUERY.sub(lambda m: f"{m['name']}={REDACTED}", text)
    return _PATH.sub(lambda m: f"{m['prefix']}{REDACTED}", text)


class RedactCredentials(logging.Filter):
    """Rewrites the record's message with credentials replaced; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


ACCESS_LOGGERS = ("uvicorn.access", "gunicorn.access", "django.server", "django.request")


def install() -> None:
    """Puts the filter on the loggers that write request lines. uvicorn configures its access
    logger (with its own handler, not propagating) before it imports the application, so the
    filter goes on the logger itself, where every one of its records passes."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCredentials) for f in logger.filters):
            logger.addFilter(RedactCredentials())
