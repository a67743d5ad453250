"""A UDP relay between the agent and the answering peer: the one path media takes, pausable."""

from __future__ import annotations

import asyncio
import re
from typing import Any

LOOPBACK = "127.0.0.1"
_CANDIDATE_RE = re.compile(r"^(a=candidate:\S+ \d+ udp \d+ )(\S+) (\d+)( typ .*)$", re.M | re.I)


def first_candidate(sdp: str) -> tuple[str, int]:
    match = _CANDIDATE_RE.search(sdp)
    assert match, "no UDP candidate in the SDP"
    return match.group(2), int(match.group(3))


def rewrite_candidates(sdp: str, address: tuple[str, int]) -> str:
    """Every UDP candidate now points at `address`: the peer can only reach the other via us."""
    return _CANDIDATE_RE.sub(lambda m: f"{m.group(1)}{address[0]} {address[1]}{m.group(4)}", sdp)


class _Side(asyncio.DatagramProtocol):
    def __init__(self, forward: Any) -> None:
        self._forward = forward

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._forward(data)


class UdpRelay:
    """agent <-> [agent_side | server_side] <-> answering peer; `cut()` decides if packets pass."""

    def __init__(self, cut: Any) -> None:
        self._cut = cut
        self.agent: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self._agent_side: asyncio.DatagramTransport | None = None
        self._server_side: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._agent_side, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self._to_server), local_addr=(LOOPBACK, 0)
        )
        self._server_side, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self._to_agent), local_addr=(LOOPBACK, 0)
        )

    @property
    def agent_facing(self) -> tuple[str, int]:
        return self._agent_side.get_extra_info("sockname")[:2]

    @property
    def server_facing(self) -> tuple[str, int]:
        return self._server_side.get_extra_info("sockname")[:2]

    def _to_server(self, data: bytes) -> None:
        if not self._cut() and self.server is not None:
            self._server_side.sendto(data, self.server)

    def _to_agent(self, data: bytes) -> None:
        if not self._cut() and self.agent is not None:
            self._agent_side.sendto(data, self.agent)

    def close(self) -> None:
        for side in (self._agent_side, self._server_side):
            if side is not None:
                side.close()
