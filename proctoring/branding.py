"""A client's report branding (issue #19): its display name, a logo URL, and the origins that
may frame its reports. Validated here once, for the admin and for the model."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from proctoring.exceptions import ValidationFailed
from proctoring.origins import normalize_origin, validate_origin_list

LOGO_URL_MAX_LENGTH = 500


def logo_schemes() -> tuple[str, ...]:
    """https only, except on a development machine (a logo served by a local page)."""
    return ("https", "http") if settings.ENV == "development" else ("https",)


def logo_origin(url: str) -> str | None:
    """The origin of a valid logo URL (what the report's img-src must allow), or None."""
    if not isinstance(url, str) or not url or len(url) > LOGO_URL_MAX_LENGTH:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in logo_schemes() or parts.username or parts.password:
        return None
    if any(char.isspace() or char in "'\";," for char in url):
        return None  # it goes into a CSP header and an HTML attribute
    return normalize_origin(f"{parts.scheme}://{parts.netloc}")


def validate_logo_url(value: str) -> None:
    """Model and form validator of Client.logo_url."""
    if value and logo_origin(value) is None:
        schemes = " or ".join(logo_schemes())
        raise ValidationError(f"logo_url must be an {schemes} URL of an image.")


def validate_report_frame_ancestors(value: Any) -> list[str]:
    """Client.report_frame_ancestors: the integrators' pages that may frame its reports."""
    return validate_origin_list(value, field="report_frame_ancestors")


def report_frame_ancestors_validator(value: Any) -> None:
    """The model field's validator (full_clean): the admin form normalizes on top."""
    try:
        validate_report_frame_ancestors(value)
    except ValidationFailed as exc:
        raise ValidationError(exc.message) from exc
