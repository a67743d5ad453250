"""Request bodies and query strings as the clients send them: the one place tests build them."""

import asyncio
import base64
import hashlib
import hmac
import time

from aiortc import RTCPeerConnection

from proctoring import signing
from proctoring.services.clients import NewClient

SESSIONS = "/api/v1/agent/sessions/"
# Options under which no stream is required: for tests of what the media process does with an
# offer that the web's required-track check would otherwise refuse first.
NOTHING_REQUIRED = {
    "trackingOptions": {
        "audio": False,
        "numHumans": False,
        "photosAtRandom": False,
        "captureSwitchedTab": False,
    }
}


def agent_credentials(new_client: NewClient, attempt_id: str, *, secret: str | None = None):
    """client_id, test_attempt_id and its HMAC (under `secret`, the client's own by default)."""
    return {
        "client_id": new_client.client.client_id,
        "test_attempt_id": attempt_id,
        "hashed_test_attempt_id": signing.hash_test_attempt_id(
            client_secret=secret or new_client.client_secret, test_attempt_id=attempt_id
        ),
    }


def session_body(new_client: NewClient, offer, *, attempt_id="t-1", **overrides) -> dict:
    """A start/resume request with an SDP offer."""
    return {**agent_credentials(new_client, attempt_id), "offer": offer, **overrides}


def results_query(
    client_id: str, secret: str, ts: int | None = None, *, hex_form=False, lookup_key=None
) -> dict:
    """The results page's credential: a fresh timestamp and its HMAC (over the lookup key too,
    when the page shows one key's attempts)."""
    ts = int(time.time()) if ts is None else ts
    message = f"{ts}:{lookup_key}" if lookup_key else str(ts)
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    hashed = digest.hex() if hex_form else base64.b64encode(digest).decode()
    query = {"clientId": client_id, "unixTimestamp": ts, "hashedUnixTimestamp": hashed}
    return {**query, "lookup_key": lookup_key} if lookup_key else query


def make_offer(*, screen: bool = True) -> dict[str, str]:
    """What the agent sends: webcam, microphone, screen (unless not) and the events channel."""

    async def offer() -> dict[str, str]:
        pc = RTCPeerConnection()
        pc.addTransceiver("video", direction="sendonly")
        pc.addTransceiver("audio", direction="sendonly")
        if screen:
            pc.addTransceiver("video", direction="sendonly")
        pc.createDataChannel("events")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return {"type": "offer", "sdp": sdp}

    return asyncio.run(offer())
