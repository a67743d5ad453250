"""Signed, expiring links to one attempt's read-only report (SDK showReport, issue #19)."""

import datetime as dt
import time
from dataclasses import dataclass

from django.conf import settings

from proctoring import signing
from proctoring.exceptions import InvalidLink, LinkExpired, NotFound
from proctoring.models import Attempt, Client
from proctoring.selectors.attempts import attempt_for_report_link

INVALID_REPORT_LINK_MESSAGE = "This report link is invalid."
EXPIRED_REPORT_LINK_MESSAGE = "This report link has expired; ask for a new one."
REPORT_GONE_MESSAGE = "This report is no longer available."


@dataclass(frozen=True)
class ReportLink:
    token: str
    expires_at: dt.datetime


def report_link_mint(*, client: Client, attempt: Attempt, ttl_s: int | None = None) -> ReportLink:
    """The caller has already looked `attempt` up scoped to `client`; `ttl_s` is bounded by
    the API's validation (PROCTOR_REPORT_URL_MIN_TTL_S..MAX_TTL_S)."""
    ttl = settings.PROCTOR_REPORT_URL_TTL_S if ttl_s is None else ttl_s
    expires_at = int(time.time()) + ttl
    token = signing.report_link_token(
        client_id=client.client_id, attempt_id=attempt.pk, expires_at=expires_at
    )
    return ReportLink(token=token, expires_at=dt.datetime.fromtimestamp(expires_at, tz=dt.UTC))


def report_for_link(*, token: str) -> tuple[Attempt, dt.datetime]:
    """The attempt a report link names and the link's expiry; refusals carry stable codes:
    invalid_link (403: forged or edited), link_expired (410), report_not_found (404)."""
    state, payload = signing.report_link_read(token=token, now=time.time())
    if state == signing.REPORT_LINK_INVALID or payload is None:
        raise InvalidLink(INVALID_REPORT_LINK_MESSAGE)
    if state == signing.REPORT_LINK_EXPIRED:
        refusal = LinkExpired(EXPIRED_REPORT_LINK_MESSAGE)
        refusal.client_id = payload["c"]  # its refusal page may be framed where reports are
        raise refusal
    attempt = attempt_for_report_link(client_id=payload["c"], attempt_pk=payload["a"])
    if attempt is None:
        raise NotFound(REPORT_GONE_MESSAGE, code="report_not_found")
    return attempt, dt.datetime.fromtimestamp(payload["x"], tz=dt.UTC)
