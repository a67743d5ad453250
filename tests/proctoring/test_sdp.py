"""An offer's ICE candidates are targets of the media process's STUN checks: bounded, and only
addresses a candidate may offer."""

import pytest

from proctoring.exceptions import InvalidSdp
from proctoring.sdp import validate_offer

HEAD = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96\r\n"


def offer_with(*addresses: str) -> dict:
    lines = [
        f"a=candidate:{i} 1 udp 2130706431 {address} {40000 + i} typ host"
        for i, address in enumerate(addresses)
    ]
    return {"type": "offer", "sdp": HEAD + "".join(f"{line}\r\n" for line in lines)}


def kept(offer: dict) -> list[str]:
    sdp = validate_offer(offer)["sdp"]
    return [line.split()[4] for line in sdp.split("\r\n") if line.startswith("a=candidate:")]


def test_in_production_private_loopback_and_odd_addresses_are_dropped(settings):
    settings.PROCTOR_ICE_ALLOW_PRIVATE_CANDIDATES = False
    offer = offer_with(
        "8.8.8.8",
        "127.0.0.1",
        "169.254.169.254",
        "10.1.2.3",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "2001:4860:4860::8888",
        "abcd1234-5678.local",
        "internal.example.com",
    )
    assert kept(offer) == ["8.8.8.8", "2001:4860:4860::8888", "abcd1234-5678.local"]


def test_tests_and_lans_may_keep_private_addresses_but_never_multicast(settings):
    settings.PROCTOR_ICE_ALLOW_PRIVATE_CANDIDATES = True
    offer = offer_with("127.0.0.1", "10.1.2.3", "224.0.0.1", "0.0.0.0")  # noqa: S104
    assert kept(offer) == ["127.0.0.1", "10.1.2.3"]


def test_an_offer_naming_too_many_targets_is_refused(settings):
    settings.PROCTOR_ICE_MAX_REMOTE_CANDIDATES = 20
    many = offer_with(*[f"8.8.{i // 200}.{i % 200}" for i in range(250)])
    with pytest.raises(InvalidSdp) as refused:
        validate_offer(many)
    assert (
        refused.value.message == "'offer.sdp' offers 250 ICE candidates; at most 20 are accepted."
    )
    # The same candidate repeated in every media section (BUNDLE) is one target.
    line = "a=candidate:1 1 udp 2130706431 8.8.8.8 40000 typ host\r\n"
    repeated = {"type": "offer", "sdp": HEAD + line * 60}
    assert len(kept(repeated)) == 60
