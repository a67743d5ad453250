"""ICE configuration of the media process: which host addresses it offers, which UDP ports it binds.

aioice offers every non-loopback interface address and binds ephemeral ports. A server behind a
firewall needs its public address and a fixed port range; loopback tests need 127.0.0.1.
"""

import asyncio
import errno
import itertools
import logging

import aioice.ice
from aiortc import RTCConfiguration

logger = logging.getLogger(__name__)


def rtc_configuration() -> RTCConfiguration:
    # No STUN/TURN: the default public STUN server is unreachable on a closed network, and the
    # media server's own addresses are configured explicitly instead.
    return RTCConfiguration(iceServers=[])


def use_host_addresses(addresses: list[str]) -> None:
    """Make aioice offer exactly these addresses (for this process)."""
    if not addresses:
        return
    chosen = list(addresses)

    def configured_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = configured_host_addresses
    logger.info("ICE host addresses: %s", ", ".join(chosen))


def parse_port_range(spec: str) -> range | None:
    if not spec:
        return None
    low, _, high = spec.partition("-")
    ports = range(int(low), int(high or low) + 1)
    if not ports or ports.start < 1 or ports.stop > 65536:
        raise ValueError(f"invalid UDP port range {spec!r}")
    return ports


class PortRangeEventLoop(asyncio.SelectorEventLoop):
    """An event loop whose UDP sockets asked for an ephemeral port bind inside a fixed range."""

    def __init__(self, ports: range) -> None:
        super().__init__()
        self._ports = ports
        self._next = itertools.cycle(ports)

    async def create_datagram_endpoint(self, protocol_factory, local_addr=None, **kwargs):
        if local_addr is None or local_addr[1] != 0:
            return await super().create_datagram_endpoint(
                protocol_factory, local_addr=local_addr, **kwargs
            )
        for _ in range(len(self._ports)):
            port = next(self._next)
            try:
                return await super().create_datagram_endpoint(
                    protocol_factory, local_addr=(local_addr[0], port), **kwargs
                )
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
        raise OSError(
            errno.EADDRINUSE, f"no free UDP port in {self._ports.start}-{self._ports.stop - 1}"
        )
