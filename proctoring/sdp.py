"""Cheap structural checks on an SDP offer before any state is created."""

import ipaddress
from dataclasses import dataclass
from typing import Any

from django.conf import settings

import protocol
from proctoring.exceptions import InvalidSdp

MAX_SDP_BYTES = 32 * 1024
# webcam, microphone, screen and the events data channel.
MAX_MEDIA_SECTIONS = 4
ALLOWED_MEDIA = ("audio", "video", "application")
DIRECTIONS = frozenset({"sendrecv", "sendonly", "recvonly", "inactive"})
MAX_MDNS_NAME = 64


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
    return {"type": "offer", "sdp": _checked_candidates(sdp)}


def _checked_candidates(sdp: str) -> str:
    """The media process sends STUN checks to every remote candidate: an offer is a list of
    targets. Bound them, and drop addresses a candidate has no business offering (loopback,
    link-local, private, multicast, names other than mDNS ones) unless the deployment allows
    private addresses (tests, a LAN)."""
    allow_private = settings.PROCTOR_ICE_ALLOW_PRIVATE_CANDIDATES
    kept, targets = [], set()
    for line in sdp.split("\n"):
        candidate = _candidate(line.strip())
        if candidate is not None:
            if not _allowed_address(candidate[0], allow_private=allow_private):
                continue
            targets.add(candidate)
        kept.append(line)
    if len(targets) > settings.PROCTOR_ICE_MAX_REMOTE_CANDIDATES:
        raise InvalidSdp(
            f"'offer.sdp' offers {len(targets)} ICE candidates; at most "
            f"{settings.PROCTOR_ICE_MAX_REMOTE_CANDIDATES} are accepted."
        )
    return "\n".join(kept)


def _candidate(line: str) -> tuple[str, str, str] | None:
    """(address, port, transport) of an `a=candidate:` line, else None."""
    if not line.startswith("a=candidate:"):
        return None
    fields = line[len("a=candidate:") :].split()
    if len(fields) < 6:
        return ("", "", "")  # malformed: aiortc refuses it; count it as a target all the same
    return fields[4].lower(), fields[5], fields[2].lower()


def _allowed_address(address: str, *, allow_private: bool) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        # A browser hides its host address behind an mDNS name; any other name would make the
        # media process resolve whatever the offer says.
        return address.endswith(".local") and len(address) <= MAX_MDNS_NAME
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return False
    if ip.is_loopback or ip.is_link_local or ip.is_private:
        return allow_private
    return True


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
