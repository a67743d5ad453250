"""The answer asks the sender for 120 ms Opus packets and a bitrate ceiling per stream, and an
aiortc peer (the Python agent) still accepts it."""

import asyncio

from aiortc import RTCPeerConnection, RTCSessionDescription

from proctoring.ingest.answer import AnswerPolicy, shape_answer
from proctoring.sdp import offered_streams
from tests.proctoring.builders import make_offer

POLICY = AnswerPolicy(audio_ptime_ms=120, camera_kbps=300, screen_kbps=150)


async def _answer(offer: dict[str, str]) -> str:
    pc = RTCPeerConnection()
    await pc.setRemoteDescription(RTCSessionDescription(**offer))
    await pc.setLocalDescription(await pc.createAnswer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


def answer_to(offer: dict[str, str]) -> str:
    return asyncio.run(_answer(offer))


def sections(sdp: str) -> list[list[str]]:
    out: list[list[str]] = []
    for line in sdp.split("\r\n"):
        if line.startswith("m="):
            out.append([line])
        elif out:
            out[-1].append(line)
    return out


def test_the_answer_carries_ptime_and_a_ceiling_per_role():
    offer = make_offer()
    roles = offered_streams(offer, {"0": "camera", "1": "microphone", "2": "screen"})
    shaped = shape_answer(answer_to(offer), roles=roles, policy=POLICY)
    camera, microphone, screen, channel = sections(shaped)
    assert "a=ptime:120" in microphone
    # b= lines come before the attributes (RFC 8866's order), right after c=.
    at = camera.index("b=AS:300")
    assert camera[at - 1].startswith("c=") and camera[at + 1] == "b=TIAS:300000"
    assert "b=AS:150" in screen and "b=TIAS:150000" in screen
    assert not any(line.startswith(("b=", "a=ptime")) for line in channel)
    assert shaped.endswith("\r\n")


def test_sections_without_a_role_and_rejected_ones_are_left_alone():
    offer = make_offer()
    answer = answer_to(offer)
    shaped = shape_answer(answer, roles=None, policy=POLICY)
    assert "b=AS" not in shaped
    assert shaped.count("a=ptime:120") == 1
    rejected = "v=0\r\nm=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\n"
    assert shape_answer(rejected, roles=None, policy=POLICY) == rejected


def test_an_aiortc_offerer_takes_the_shaped_answer():
    """The Python agent is aiortc: the lines meant for a browser must not trouble it."""

    async def round_trip() -> list[str]:
        sender = RTCPeerConnection()
        sender.addTransceiver("video", direction="sendonly")
        sender.addTransceiver("audio", direction="sendonly")
        await sender.setLocalDescription(await sender.createOffer())
        offer = {"type": "offer", "sdp": sender.localDescription.sdp}
        roles = offered_streams(offer, None)
        shaped = shape_answer(await _answer(offer), roles=roles, policy=POLICY)
        await sender.setRemoteDescription(RTCSessionDescription(sdp=shaped, type="answer"))
        kinds = [t.kind for t in sender.getTransceivers() if t.currentDirection == "sendonly"]
        await sender.close()
        return kinds

    assert asyncio.run(round_trip()) == ["video", "audio"]
