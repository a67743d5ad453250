"""The Content-Security-Policy of a report page, per client: its own origin for everything,
the client's logo origin for images, and the client's report_frame_ancestors as the only pages
that may frame it ('none' when it lists none). Set on the response by the view, so a site-wide
CSP default (frame-ancestors 'none') does not replace it."""

from proctoring.branding import logo_origin
from proctoring.models import Client
from proctoring.origins import normalize_origin

HEADER = "Content-Security-Policy"


def frame_ancestors(client: Client | None) -> list[str]:
    """The stored origins, each normalized again: a value that is not an origin is dropped
    (fail closed), never copied into the header."""
    stored = client.report_frame_ancestors if client is not None else []
    if not isinstance(stored, list):
        return []
    found = (normalize_origin(item) for item in stored)
    return sorted({origin for origin in found if origin})


def report_policy(client: Client | None) -> str:
    images = ["'self'"]
    logo = logo_origin(client.logo_url) if client is not None else None
    if logo:
        images.append(logo)
    ancestors = frame_ancestors(client) or ["'none'"]
    return "; ".join(
        [
            "default-src 'self'",
            f"img-src {' '.join(images)}",
            "base-uri 'none'",
            "form-action 'none'",
            "object-src 'none'",
            f"frame-ancestors {' '.join(ancestors)}",
        ]
    )


def with_report_policy(response, client: Client | None):
    response[HEADER] = report_policy(client)
    response["Referrer-Policy"] = "no-referrer"  # the URL is a credential
    response["Cache-Control"] = "private, no-store"
    return response
