"""Two hosts, one web, one Redis, one PostgreSQL: a host lost mid-exam loses no candidate (#22).

Each host is a network namespace with its own media process and Celery worker
(tests/e2e/hosts.py); the real capture agents run in the root namespace and reach the media
processes over real WebRTC on the veth addresses. Mid-exam, both processes of one host are
SIGKILLed while its worker certainly holds analysis tasks (the attempts' row locks, held by the
test, keep them mid-flight). What must hold: every candidate of the lost host resumes on the
other host, every sample handed to the broker is observed exactly once, and every attempt is
scored with evidence "processed".
"""

import base64
import contextlib
import json
import sys
import time
from collections import Counter

import pytest
from django.db import transaction
from django.db.models import Count, Max

from proctoring import messages
from proctoring.models import Attempt, AttemptStatusChange, MediaSession, Observation
from proctoring.services import scoring
from proctoring.statuses import AttemptStatus, EvidenceStatus, ViolationType
from tests.conftest import MEDIA_DIR
from tests.e2e import hosts as hosts_lib
from tests.e2e.conftest import stack_env
from tests.e2e.faults import AgentRun, agent_command, wait_for
from tests.e2e.hosts import MultiHostStack, host_namespace
from tests.e2e.test_faults import LIFECYCLE_END, task_ids

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

AGENTS = 4
# Long enough to resume (5 s of silence, then the offer), short enough that the lost worker's
# tasks come back only after the candidates stopped: finalize must wait for them.
STREAM_S = 28
# Streaming on both hosts before the kill, so each worker has work in hand.
BEFORE_KILL_S = 4.0
# A dead worker's unacknowledged tasks come back this long after their delivery (at the next
# 10 s sweep): after the candidates stopped, so finalize has to wait for them.
VISIBILITY_TIMEOUT_S = 35
FINALIZE_TIMEOUT_S = 60
# The late-evidence re-score waits PROCTOR_LATE_RESCORE_DELAY_S (10 s) of quiet, then runs.
LATE_RESCORE_WAIT_S = 60
# A heartbeat this long after the lost worker received its tasks counts their samples.
HEARTBEAT_MARGIN_S = 0.5
# kombu's Redis transport keeps delivered, unacknowledged messages here.
UNACKED_KEY = "unacked"


@pytest.fixture
def two_hosts():
    reason = hosts_lib.available()
    if reason:
        pytest.skip(reason)
    ports = hosts_lib.MEDIA_PORTS
    half = ports.start + len(ports) // 2
    with (
        host_namespace("a", 0, range(ports.start, half)) as a,
        host_namespace("b", 1, range(half, ports.stop)) as b,
    ):
        yield [a, b]


@pytest.fixture
def multi_stack(transactional_db, redis_client, two_hosts, tmp_path):
    # Stale nodes or queued messages from an earlier run must not answer this run's offers.
    redis_client.flushdb()
    env = stack_env(
        PROCTOR_VISIBILITY_TIMEOUT_S=str(VISIBILITY_TIMEOUT_S),
        PROCTOR_FINALIZE_TIMEOUT_S=str(FINALIZE_TIMEOUT_S),
    )
    stack = MultiHostStack(env=env, log_dir=tmp_path / "logs", hosts=two_hosts)
    with stack:
        yield stack
    for name in stack.processes:
        sys.stdout.write(f"--- {name} log (tail) ---\n{stack.log(name)[-1500:]}\n")


@pytest.fixture
def agents(tmp_path):
    runs: list[AgentRun] = []
    yield runs
    for run in runs:
        run.stop()


def start_agent(stack, client, test_attempt_id: str) -> AgentRun:
    args = agent_command(
        stack,
        client_id=client.client.client_id,
        client_secret=client.client_secret,
        test_attempt_id=test_attempt_id,
        seconds=STREAM_S,
        media_dir=MEDIA_DIR,
    )
    # The agent offers the host side of both veths: either host's media process reaches it.
    at = args.index("--ice-host") + 1
    args[at : at + 1] = [h.host_ip for h in stack.hosts]
    return AgentRun(args, stack.log_dir, name=f"agent-{test_attempt_id}")


def first_session(attempt_id: str) -> MediaSession:
    return MediaSession.objects.filter(attempt__test_attempt_id=attempt_id).earliest("created_at")


@contextlib.contextmanager
def worker_holding_tasks(
    stack: MultiHostStack, redis_client, host: hosts_lib.Host, attempt_ids: list[str]
):
    """Hold these attempts' row locks until `host`'s worker has analysis tasks mid-flight.

    Each batch with a flagged sample (the fake camera shows six faces half the time) locks its
    attempts' rows to record it; while the test holds the locks of the lost host's attempts,
    the batches of that host's media process are certainly in flight (models run, transaction
    open), which is when losing the host hurts most.
    """
    log = f"worker-{host.letter}"
    with transaction.atomic():
        list(Attempt.objects.select_for_update().filter(test_attempt_id__in=attempt_ids))

        def in_flight() -> set[str]:
            text = stack.log(log)
            return task_ids(text, "received") - task_ids(text, "succeeded")

        wait_for(in_flight, timeout=20, what=f"tasks mid-flight on {host.name}")
        # The media process says in its next heartbeat that it handed those samples over.
        # What it hands over in its last heartbeat interval before a crash is not waited for
        # (docs/deploy.md, limits): the test does not claim what the server does not do.
        after = time.time() + HEARTBEAT_MARGIN_S
        wait_for(
            lambda: (redis_client.zscore(messages.NODES_KEY, host.node) or 0) > after,
            timeout=4 * messages.HEARTBEAT_INTERVAL_S,
            what=f"a heartbeat of {host.name}'s media process",
        )
        yield in_flight


def samples_unacked(redis_client) -> set[tuple[str, str, int]]:
    """The samples of every task the broker delivered and nobody acknowledged yet (kombu's
    `unacked` hash): what a dead worker held, and the live one is working on."""
    held = set()
    for raw in redis_client.hvals(UNACKED_KEY):
        message = json.loads(raw)[0]
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        if message.get("headers", {}).get("task") == messages.ANALYZE_SAMPLES:
            held.update((i["session_id"], i["kind"], i["seq"]) for i in args[0])
    return held


def finish(run: AgentRun) -> dict:
    code = run.wait()
    assert code == 0, run.stderr()[-3000:]
    assert [e["event"] for e in run.events][-2:] == list(LIFECYCLE_END)
    return run.named("apMonitoringStopped")[0]["detail"]


def reconnected(run: AgentRun) -> dict:
    states = [e["detail"] for e in run.named("apConnectionStateChange")]
    done = [d for d in states if d.get("state") == "reconnected"]
    assert done, states
    return done[-1]


def assert_each_sample_once(attempt: Attempt, lost_node: str) -> None:
    """Nothing observed twice; every sample the broker got is observed.

    A session of a live host says on close how many samples it handed over. A session of the
    lost host cannot: its seqs must run without a hole from 0 (what the media process had
    sampled but not yet handed to Redis died with it, and that time is the offline gap).
    """
    twice = (
        Observation.objects.filter(attempt=attempt)
        .values("session", "kind", "seq")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert list(twice) == []
    for session in attempt.sessions.all():
        assert session.ended_at is not None
        if session.ingest_node == lost_node:
            assert session.close_reason == "ingest_lost"
            for kind in ("video", "audio"):
                seqs = sorted(session.observations.filter(kind=kind).values_list("seq", flat=True))
                assert seqs and seqs == list(range(len(seqs))), (kind, seqs)
        else:
            assert session.samples_enqueued == session.observations.count() > 0


def assert_the_score_holds_every_sample(attempt: Attempt) -> None:
    """Every sample handed over is in the final score, the lost host's included. Either finalize
    waited for it, or it came back after the first score (a sample the lost worker held past the
    last heartbeat) and the late-evidence re-score took it in (issue #22 finding 4): then the
    score the attempt holds must equal a fresh re-judgement of all its observations."""
    scored = AttemptStatusChange.objects.get(attempt=attempt, to_status=AttemptStatus.STOPPED)
    last = attempt.observations.aggregate(last=Max("created_at"))["last"]
    if last <= scored.at:
        return
    wait_for(
        lambda: Attempt.objects.get(pk=attempt.pk).late_evidence_at is None,
        timeout=LATE_RESCORE_WAIT_S,
        what="the late-evidence re-score",
    )
    held = _score_and_violations(Attempt.objects.get(pk=attempt.pk))
    with transaction.atomic():
        scoring.attempt_rescore(
            attempt=attempt, thresholds=None, score_profile=None, actor_label="test"
        )
    assert _score_and_violations(Attempt.objects.get(pk=attempt.pk)) == held


def _score_and_violations(attempt: Attempt) -> tuple:
    spans = attempt.violations.order_by("type", "start_s").values_list("type", "start_s", "end_s")
    return attempt.trust_score, attempt.evidence_status, list(spans)


def assert_violations_once(attempt: Attempt, *, moved: bool) -> None:
    """The labelled camera shows six faces for 1 s of every 2 s and the microphone speaks: each
    attempt has both violations, and no span of one type (and stream) is recorded twice. A
    candidate who lost its host shows the time without media."""
    types = set(attempt.violations.values_list("type", flat=True))
    assert {ViolationType.MULTIPLE_HUMANS, ViolationType.SPEECH} <= types, types
    if moved:
        assert {ViolationType.OFFLINE, ViolationType.STREAM_MISSING} & types, types
    spans: dict[tuple, list] = {}
    for violation in attempt.violations.order_by("start_s"):
        key = (violation.type, violation.details.get("stream"))
        spans.setdefault(key, []).append((violation.start_s, violation.end_s))
    for key, pieces in spans.items():
        for (_, end), (start, _) in zip(pieces, pieces[1:], strict=False):
            assert start >= end, (key, pieces)


def test_a_host_lost_mid_exam_its_candidates_resume_on_the_other(
    multi_stack, agents, new_client, redis_client
):
    stack = multi_stack
    ids = [f"multi-host-{n}" for n in range(AGENTS)]
    for attempt_id in ids:
        agents.append(start_agent(stack, new_client, attempt_id))
        agents[-1].wait_event("apMonitoringStarted", timeout=60)
    placed = {i: stack.host_of(first_session(i).ingest_node) for i in ids}
    # The web placed each offer on the least loaded live media process: two on each host.
    spread = Counter(h.name for h in placed.values())
    assert spread == {"aphost-a": AGENTS // 2, "aphost-b": AGENTS // 2}, spread

    time.sleep(BEFORE_KILL_S)
    lost, kept = stack.hosts
    lost_ids = [i for i in ids if placed[i] is lost]
    with worker_holding_tasks(stack, redis_client, lost, lost_ids) as in_flight:
        held = in_flight()
        lost.kill()
        held_samples = samples_unacked(redis_client)
        said_sent = redis_client.hgetall(messages.SENT_KEY.format(node=lost.node))
    moved = [run for run, i in zip(agents, ids, strict=True) if placed[i] is lost]
    stopped = {i: finish(run) for run, i in zip(agents, ids, strict=True)}

    for run in moved:
        resumed = reconnected(run)
        assert resumed["resumed"] is True
        new = MediaSession.objects.get(pk=resumed["sessionId"])
        assert new.ingest_node == kept.node
    # The lost worker's tasks ran on the other host's worker once their visibility timed out.
    observed = {
        (str(sid), kind, seq): (created, stop_requested)
        for sid, kind, seq, created, stop_requested in Observation.objects.values_list(
            "session_id", "kind", "seq", "created_at", "attempt__stop_requested_at"
        )
    }
    assert held_samples and held_samples <= observed.keys(), (
        sorted(held_samples - observed.keys()),
        said_sent,
    )
    # Some came back only after their candidate had stopped: finalize waited for them.
    assert any(observed[s][0] > observed[s][1] for s in held_samples)
    assert held <= task_ids(stack.log(f"worker-{kept.letter}"), "succeeded")
    for attempt_id in ids:
        attempt = Attempt.objects.get(test_attempt_id=attempt_id)
        assert attempt.status == AttemptStatus.STOPPED
        assert attempt.trust_score is not None and attempt.finished_at is not None
        assert stopped[attempt_id]["trustScore"] is None  # hidden from candidates by default
        assert attempt.evidence_status == EvidenceStatus.PROCESSED, attempt_id
        assert_each_sample_once(attempt, lost.node)
        assert_the_score_holds_every_sample(attempt)
        assert_violations_once(attempt, moved=placed[attempt_id] is lost)
