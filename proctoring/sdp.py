"""Cheap structural checks on an SDP offer before any state is created."""

from dataclasses import dataclass
from typing import Any

import protocol
from proctoring.exceptions import InvalidSdp

MAX_SDP_BYTES = 32 * 1024
# webcam, microphone, screen and the events data channel.
MAX_MEDIA_SECTIONS = 4
ALLOWED_MEDIA = ("audio", "video", "application")
DIRECTIONS = frozenset({"sendrecv", "sendonly", "recvonly", "inactive"})


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


@dataclass(frozen=True)
class MediaSection:
    kind: str  # audio, video or application
    mid: str
    sending: bool  # offered to send (sendonly or sendrecv, port not 0)
    track_id: str  # the msid's track part, "" without one


def media_sections(sdp: str) -> list[MediaSection]:
    """The offer's m= sections in order, with what the server needs to tell their roles."""
    sections: list[dict[str, Any]] = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            kind, port = (line[2:].split(" ") + ["", ""])[:2]
            sections.append({"kind": kind, "port": port, "mid": "", "dir": "sendrecv", "id": ""})
        elif sections and line.startswith("a="):
            _read_attribute(sections[-1], line[2:])
    return [
        MediaSection(
            kind=s["kind"],
            mid=s["mid"],
            sending=s["port"] != "0" and s["dir"] in ("sendonly", "sendrecv"),
            track_id=s["id"],
        )
        for s in sections
    ]


def _read_attribute(section: dict[str, Any], attribute: str) -> None:
    name, _, value = attribute.partition(":")
    if name == "mid":
        section["mid"] = value.strip()
    elif name in DIRECTIONS:
        section["dir"] = name
    elif name == "msid":
        parts = value.split()
        section["id"] = parts[1] if len(parts) > 1 else ""


def offered_streams(offer: dict[str, str], roles: dict[str, str] | None) -> dict[str, str]:
    """Role (camera, microphone, screen) -> mid of each stream the offer sends.

    `roles` is the client's own mid -> role map (protocol v1 `track_roles`), checked against the
    offer. Without it, roles follow the agent's convention: the audio section is the microphone,
    a video track whose id is `screen` is the screen, the first other video the camera and a
    second one the screen.
    """
    sending = [s for s in media_sections(offer["sdp"]) if s.kind != "application" and s.sending]
    if roles:
        return _explicit_roles(sending, roles)
    found: dict[str, str] = {}
    for section in sending:
        role = _conventional_role(section, found)
        if role is not None:
            found[role] = section.mid
    return found


def _conventional_role(section: MediaSection, found: dict[str, str]) -> str | None:
    if section.kind == "audio":
        return None if "microphone" in found else "microphone"
    if section.track_id == "screen" and "screen" not in found:
        return "screen"
    for role in ("camera", "screen"):
        if role not in found:
            return role
    return None


def _explicit_roles(sending: list[MediaSection], roles: dict[str, str]) -> dict[str, str]:
    kinds = {s.mid: s.kind for s in sending}
    expected = {name: spec["kind"] for name, spec in protocol.streams().items()}
    found: dict[str, str] = {}
    for mid, role in roles.items():
        if role not in expected:
            raise InvalidSdp(f"track_roles: unknown role '{role}' for mid '{mid}'.")
        if kinds.get(mid) != expected[role]:
            raise InvalidSdp(
                f"track_roles: mid '{mid}' is not a sending {expected[role]} section of the offer."
            )
        if role in found:
            raise InvalidSdp(f"track_roles: more than one mid has the role '{role}'.")
        found[role] = mid
    return found
