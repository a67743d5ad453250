"""The web and worker side of the media RPC: hand an offer to a media process and wait for its
answer, send control messages to the process that owns a session, list the live ones.

The wire format (Redis keys, operations) is in proctoring.messages, which the media process reads
too; capacity grows by adding media processes (decisions/0001), on as many hosts as needed: the
web places each offer on the least loaded live one (decisions/0017).
"""

import json
import random
import time
import uuid
from typing import Any

import redis
from django.conf import settings

from proctoring import messages
from proctoring.exceptions import IngestUnavailable, InvalidSdp
from proctoring.messages import (
    CONTROL_KEY,
    CONTROL_TTL_S,
    LIVE_KEY,
    LOAD_KEY,
    NODE_OFFERS_KEY,
    NODE_STALE_S,
    NODES_KEY,
    OFFER_PICKUP_S,
    OFFERS_KEY,
    REFUSED_INVALID_SDP,
    REPLY_KEY,
    REPLY_TTL_S,
    SENT_KEY,
    ControlOp,
)

# redis-py gives up reading after 5 s by default; the wait for an answer must outlast the offer
# timeout, or a slow answer ends as a socket error rather than as "the ingest did not answer".
SOCKET_MARGIN_S = 5.0

_pool: redis.ConnectionPool | None = None


def sync_redis() -> redis.Redis:
    global _pool
    if _pool is None:
        _pool = redis.ConnectionPool.from_url(
            settings.REDIS_URL, socket_timeout=settings.PROCTOR_OFFER_TIMEOUT_S + SOCKET_MARGIN_S
        )
    return redis.Redis(connection_pool=_pool)


def live_nodes(client: redis.Redis, *, now: float | None = None) -> list[str]:
    now = time.time() if now is None else now
    members = client.zrangebyscore(NODES_KEY, now - NODE_STALE_S, "+inf")
    return [m.decode() for m in members]


def request_answer(
    *,
    session_id: uuid.UUID,
    offer: dict[str, str],
    roles: dict[str, str],
    analyse: dict[str, bool],
    record: bool = False,
) -> dict[str, Any]:
    """Hand an SDP offer to a media process and wait for its answer: {'node', 'answer'}."""
    timeout = settings.PROCTOR_OFFER_TIMEOUT_S
    reply_key = REPLY_KEY.format(session_id=session_id)
    message = messages.offer(
        session_id=str(session_id),
        offer=offer,
        roles=roles,
        analyse=analyse,
        record=record,
        reply_to=reply_key,
        # A media process that picks the offer up after the web gave up must not answer it.
        expires_at=time.time() + timeout,
    )
    try:
        client = sync_redis()
        nodes = live_nodes(client)
        if not nodes:
            raise IngestUnavailable("No media ingest process is running; try again shortly.")
        popped = _place_offer(
            client,
            placement_order(client, nodes),
            json.dumps(message),
            reply_key=reply_key,
            deadline=time.monotonic() + timeout,
        )
    except redis.RedisError as exc:
        raise IngestUnavailable("The media ingest cannot be reached; try again shortly.") from exc
    if popped is None:
        raise IngestUnavailable("The media ingest did not answer in time; try again shortly.")
    reply = json.loads(popped[1])
    if not reply.get("ok"):
        if reply.get("code") == REFUSED_INVALID_SDP:
            raise InvalidSdp(reply.get("message", "The SDP offer could not be used."))
        raise IngestUnavailable(reply.get("message", "The media ingest refused the offer."))
    return {"node": reply["node"], "answer": reply["answer"]}


def placement_order(client: redis.Redis, nodes: list[str]) -> list[str]:
    """Live media processes, least loaded first (sessions and offers being answered, as of
    their last heartbeat plus the offers placed since); ties in random order, so that equal
    hosts fill evenly whichever web process places the offers."""
    loads = client.hmget(LOAD_KEY, nodes)
    shuffled = random.sample(list(zip(nodes, loads, strict=True)), k=len(nodes))
    return [node for node, load in sorted(shuffled, key=lambda pair: int(pair[1] or 0))]


def _place_offer(
    client: redis.Redis, nodes: list[str], payload: str, *, reply_key: str, deadline: float
) -> tuple[bytes, bytes] | None:
    """Offer to each node in turn until one takes it; then wait for its answer.

    A node that leaves the offer on its list for OFFER_PICKUP_S is dead (it heartbeated less
    than NODE_STALE_S ago) or full: the offer is taken back and placed on the next. When none
    takes it, it goes on the shared list for whichever frees up first (decisions/0017).
    """
    for node in nodes:
        key = NODE_OFFERS_KEY.format(node=node)
        with client.pipeline() as pipe:
            pipe.rpush(key, payload)
            pipe.expire(key, REPLY_TTL_S)
            pipe.hincrby(LOAD_KEY, node, 1)
            pipe.execute()
        popped = _wait_reply(client, reply_key, min(OFFER_PICKUP_S, _left(deadline)))
        if popped is not None:
            return popped
        if client.lrem(key, 1, payload) == 0:  # taken: the node is answering it
            return _wait_reply(client, reply_key, _left(deadline))
        client.hincrby(LOAD_KEY, node, -1)
    client.rpush(OFFERS_KEY, payload)
    return _wait_reply(client, reply_key, _left(deadline))


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _wait_reply(client: redis.Redis, reply_key: str, seconds: float) -> tuple | None:
    if seconds <= 0:  # BLPOP would read a timeout of 0 as "for ever"
        value = client.lpop(reply_key)
        return None if value is None else (reply_key.encode(), value)
    return client.blpop([reply_key], timeout=seconds)


def last_media_at(*, node: str, session_id: uuid.UUID | str) -> float | None:
    """Unix time the media process last received media on the session; None if it does not
    know the session (closed, or the process is gone) or Redis cannot tell."""
    try:
        value = sync_redis().hget(LIVE_KEY.format(node=node), str(session_id))
    except redis.RedisError:
        return None
    return float(value) if value is not None else None


def samples_sent(*, node: str, session_ids: list[str]) -> dict[str, int]:
    """How many samples a (maybe dead) media process said, in its last heartbeat, each of these
    sessions had handed to the broker; sessions it never reported are left out."""
    if not session_ids:
        return {}
    values = sync_redis().hmget(SENT_KEY.format(node=node), session_ids)
    return {sid: int(v) for sid, v in zip(session_ids, values, strict=True) if v is not None}


def request_close(*, node: str, session_id: uuid.UUID, reason: str) -> None:
    message = {"op": ControlOp.CLOSE, "session_id": str(session_id), "reason": reason}
    _send_control(node, message)


def request_push(*, node: str, session_id: uuid.UUID, message: dict[str, Any]) -> None:
    """Ask the ingest that owns the session to send `message` to the agent's events channel."""
    body = {"op": ControlOp.PUSH, "session_id": str(session_id), "message": message}
    _send_control(node, body)


def request_early_sample(*, node: str, session_id: uuid.UUID) -> None:
    """Ask the ingest that owns the session to sample its camera's next frame now."""
    _send_control(node, {"op": ControlOp.SAMPLE_NOW, "session_id": str(session_id)})


def _send_control(node: str, message: dict[str, Any]) -> None:
    key = CONTROL_KEY.format(node=node)
    with sync_redis().pipeline() as pipe:
        pipe.rpush(key, json.dumps(message))
        pipe.expire(key, CONTROL_TTL_S)
        pipe.execute()
