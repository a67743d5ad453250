"""End-to-end server CPU per candidate with identity checks on, against off, in the same run
(issue #18: "the end-to-end target of ≥ 25 candidates per core still holds with identity on").

The same ramp as e2e_capacity (web, media, worker, PostgreSQL, Redis; the agent's defaults), run
four times in one run: with the headless defaults and with `impersonation` on, each with two
cameras. `pattern` is e2e_capacity's (one face, then two); `lone` shows the one face throughout,
the usual candidate and the most identity work, since only a lone face is compared. With
identity on every candidate enrols and its face is compared with the reference on the cadence
of docs/analysis.md (every 4th frame, every 10th once settled). The run checks that enrolment
and comparisons really happened, or its figure would be a cost of nothing."""

import tempfile
from pathlib import Path
from typing import Any

from bench import capacity, e2e_capacity, senders
from bench.report import fmt, table

NAME = "e2e_identity"
TITLE = "3b. End-to-end candidates per core with identity checks on, against off (issue #18)"
TARGET_PER_CORE = e2e_capacity.TARGET_PER_CORE
IDENTITY_OPTIONS = {
    "trackingOptions": {**senders.AGENT_OPTIONS["trackingOptions"], "impersonation": True}
}
STEPS = {"full": [12, 24, 36], "quick": [6]}
WINDOW_S = {"full": 10, "quick": 6}
WARMUP_S = {"full": 6, "quick": 4}


# (camera, identity): the bench pattern (one face, then two) as in e2e_capacity, and a lone
# candidate, the usual case, where every frame has the one face an identity check looks at.
ARMS = (("pattern", False), ("pattern", True), ("lone", False), ("lone", True))


def _ramp(mode: str, identity: bool, *, lone: bool = False) -> capacity.Ramp:
    camera = "lone candidate" if lone else "pattern"
    return capacity.Ramp(
        fps=e2e_capacity.FPS,
        steps=STEPS[mode],
        window_s=WINDOW_S[mode],
        warmup_s=WARMUP_S[mode],
        label=f"{camera}, identity {'on' if identity else 'off'}",
        options=IDENTITY_OPTIONS if identity else None,
        lone=lone,
    )


def _identity_work() -> dict[str, int]:
    """What the identity arm really did, read before the next ramp truncates the tables."""
    from proctoring.models import IdentityProfile, IdentityStatus, Observation

    return {
        "attempts": IdentityProfile.objects.count(),
        "enrolled": IdentityProfile.objects.filter(status=IdentityStatus.ENROLLED).count(),
        "compared_frames": Observation.objects.filter(data__identity__has_key="sim").count(),
    }


def _arm(ramp_result: dict[str, Any]) -> dict[str, Any]:
    step = capacity.cost_step(ramp_result["steps"])
    row = e2e_capacity.step_row(step)
    return {
        "rows": [e2e_capacity.step_row(s) for s in ramp_result["steps"]],
        "cost_at_n": row["n"],
        "pct_per_candidate": row["stack_core_pct_per_candidate"],
        "worker_pct": row["by_process_pct"]["worker"],
        "per_core": 100 / row["stack_core_pct_per_candidate"],
    }


def _arm_key(camera: str, identity: bool) -> str:
    return f"{camera} {'on' if identity else 'off'}"


def run(mode: str) -> dict[str, Any]:
    arms: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-e2e-identity-") as tmp:
        for camera, identity in ARMS:
            ramp = _ramp(mode, identity, lone=camera == "lone")
            result = capacity.run_ramp(ramp, Path(tmp))
            arm = _arm(result)
            if identity:
                arm["identity_work"] = _identity_work()  # before the next ramp truncates
            arms[_arm_key(camera, identity)] = arm
    ratios = {
        camera: arms[_arm_key(camera, True)]["pct_per_candidate"]
        / arms[_arm_key(camera, False)]["pct_per_candidate"]
        for camera in ("pattern", "lone")
    }
    return {"arms": arms, "ratios": ratios}


def markdown(result: dict[str, Any]) -> str:
    rows = []
    for key, arm in result["arms"].items():
        for row in arm["rows"]:
            rows.append(
                [
                    key,
                    row["n"],
                    fmt(row["stack_core_pct_per_candidate"]),
                    fmt(row["by_process_pct"]["worker"]),
                    f"{fmt(row['machine_pct'])}" + (" (saturated)" if row["saturated"] else ""),
                    "yes" if row["sustained"] else "no: " + "; ".join(row["why_not"]),
                ]
            )
    header = [
        "camera, identity",
        "N",
        "server CPU % of a core per candidate",
        "worker % (all candidates)",
        "machine % (of 200)",
        "sustained",
    ]
    return "\n\n".join([table(header, rows), *map(_summary, _cameras(result))])


def _cameras(result: dict[str, Any]) -> list[tuple[str, dict, dict, float]]:
    arms = result["arms"]
    return [
        (camera, arms[_arm_key(camera, False)], arms[_arm_key(camera, True)], ratio)
        for camera, ratio in result["ratios"].items()
    ]


def _summary(camera_arms: tuple[str, dict, dict, float]) -> str:
    camera, off, on, ratio = camera_arms
    work = on["identity_work"]
    return (
        f"Camera {camera}, identity on: {work['enrolled']} of {work['attempts']} attempts "
        f"enrolled, {work['compared_frames']} frames compared with the reference. Server CPU per "
        f"candidate {fmt(off['pct_per_candidate'])} % off (N={off['cost_at_n']}) and "
        f"{fmt(on['pct_per_candidate'])} % on (N={on['cost_at_n']}): ×{fmt(ratio)}; projected "
        f"**{fmt(on['per_core'])} candidates per core with identity on** "
        f"({fmt(off['per_core'])} off; target ≥ {TARGET_PER_CORE})."
    )


def targets(result: dict[str, Any]) -> list[tuple[str, str, bool]]:
    found = []
    for camera, _, on, _ in _cameras(result):
        work = on["identity_work"]
        checked = work["enrolled"] > 0 and work["compared_frames"] > 0
        found.append(
            (
                f"≥ {TARGET_PER_CORE} candidates per core end to end with identity on ({camera})",
                f"{fmt(on['per_core'])} per core projected ({work['enrolled']}/{work['attempts']} "
                f"enrolled, {work['compared_frames']} frames compared)",
                checked and on["per_core"] >= TARGET_PER_CORE,
            )
        )
    return found
