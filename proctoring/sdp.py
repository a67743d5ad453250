"""Cheap structural checks on an SDP offer before any state is created."""

from typing import Any

from proctoring.exceptions import InvalidSdp

MAX_SDP_BYTES = 32 * 1024
# webcam, microphone, screen and the events data channel.
MAX_MEDIA_SECTIONS = 4
ALLOWED_MEDIA = ("audio", "video", "application")


def validate_offer(offer: Any) -> dict[str, str]:
    if not isinstance(offer, dict) or offer.get("type") != "offer":
        raise InvalidSdp("'offer' must be an object with type 'offer' and an 'sdp' string.")
    sdp = offer.get("sdp")
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise InvalidSdp("'offer.sdp' is not an SDP session description.")
    if len(sdp.encode()) > MAX_SDP_BYTES:
        raise InvalidSdp(f"'offer.sdp' is larger than {MAX_SDP_BYTES} bytes.")
    sections = [line[2:].split(" ", 1)[0] for line in sdp.splitlines() if line.startswith("m=")]
    if not sections:
        raise InvalidSdp("'offer.sdp' has no media sections.")
    if len(sections) > MAX_MEDIA_SECTIONS:
        raise InvalidSdp(f"'offer.sdp' has more than {MAX_MEDIA_SECTIONS} media sections.")
    unknown = [kind for kind in sections if kind not in ALLOWED_MEDIA]
    if unknown:
        raise InvalidSdp(f"'offer.sdp' has an unsupported media section '{unknown[0]}'.")
    return {"type": "offer", "sdp": sdp}
