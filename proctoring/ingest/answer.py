"""What the SDP answer asks of the sender: longer Opus packets and a bitrate ceiling per stream.

The answer is the server's say over how a browser sends. Chrome packs 20 ms of Opus per packet
unless the answer asks for more; each packet costs the media process SRTP, jitter-buffer and
decode work, so the answer asks for `a=ptime` (120 ms, the longest Opus frame, as the agent
sends). A `b=AS`/`b=TIAS` ceiling per video section keeps a shared screen from taking the
bandwidth the camera needs (docs/browser-sdk.md, "Bandwidth"). aiortc (the Python agent)
ignores both lines; it already sends 120 ms packets under its own caps.
"""

from dataclasses import dataclass

# SDP line order within a media section (RFC 8866 5.14): m=, i=, c=, b=, k=, a=.
_BEFORE_BANDWIDTH = ("m=", "i=", "c=")


@dataclass(frozen=True)
class AnswerPolicy:
    audio_ptime_ms: int
    camera_kbps: int
    screen_kbps: int


def shape_answer(sdp: str, *, roles: dict[str, str] | None, policy: AnswerPolicy) -> str:
    """The answer with the policy written into its media sections. `roles` is role -> mid, as
    the web read them from the offer; a section without a role gets no bandwidth line."""
    mids = {mid: role for role, mid in (roles or {}).items()}
    newline = "\r\n" if "\r\n" in sdp else "\n"
    session, sections = _split(sdp.split(newline))
    out = list(session)
    for section in sections:
        out.extend(_shape_section(section, mids, policy))
    return newline.join(out)


def _split(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    session: list[str] = []
    sections: list[list[str]] = []
    for line in lines:
        if line.startswith("m="):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
        else:
            session.append(line)
    return session, sections


def _shape_section(lines: list[str], mids: dict[str, str], policy: AnswerPolicy) -> list[str]:
    kind = lines[0][2:].split(" ", 1)[0]
    rejected = lines[0].split(" ")[1:2] == ["0"]
    if rejected or kind not in ("audio", "video"):
        return lines
    if kind == "audio":
        if policy.audio_ptime_ms and not any(line.startswith("a=ptime:") for line in lines):
            lines = _before_trailing_blank(lines, [f"a=ptime:{policy.audio_ptime_ms}"])
        return lines
    mid = next((line[6:].strip() for line in lines if line.startswith("a=mid:")), None)
    role = mids.get(mid, "")
    kbps = {"camera": policy.camera_kbps, "screen": policy.screen_kbps}.get(role, 0)
    if not kbps or any(line.startswith("b=") for line in lines):
        return lines
    at = 1
    while at < len(lines) and lines[at][:2] in _BEFORE_BANDWIDTH:
        at += 1
    return [*lines[:at], f"b=AS:{kbps}", f"b=TIAS:{kbps * 1000}", *lines[at:]]


def _before_trailing_blank(lines: list[str], extra: list[str]) -> list[str]:
    """Append attribute lines, keeping a final empty line (the SDP's last CRLF) last."""
    if lines and lines[-1] == "":
        return [*lines[:-1], *extra, ""]
    return [*lines, *extra]
