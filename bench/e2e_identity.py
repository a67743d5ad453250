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
STEPS = {"full": [12, 18, 24], "quick": [6]}
WINDOW_S = {"full": 10, "quick": 6}
# A candidate enrols (3 frames) and settles (3 matches 4 frames apart) in about 15 s at one
# sample a second: the window opens after that, so it reads the steady cost of an exam, not
# its first seconds (a 10 s warm-up read lone candidates at x1.16, mostly enrolment).
WARMUP_S = {"full": 20, "quick": 4}


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
    return {"rows": [e2e_capacity.step_row(s) for s in ramp_result["steps"]]}


def _arm_key(camera: str, identity: bool) -> str:
    return f"{camera} {'on' if identity else 'off'}"


def compare(off: dict[str, Any], on: dict[str, Any]) -> dict[str, Any] | None:
    """Identity on against off at the same N: the largest N both arms kept up with, unsaturated
    (the cost per candidate falls with N as the stack's fixed cost spreads, so only equal N
    compare)."""
    rows_off = {row["n"]: row for row in off["rows"] if e2e_capacity.readable(row)}
    rows_on = {row["n"]: row for row in on["rows"] if e2e_capacity.readable(row)}
    common = sorted(set(rows_off) & set(rows_on))
    if not common:
        return None
    n = common[-1]
    row_off, row_on = rows_off[n], rows_on[n]
    return {
        "n": n,
        "pct_off": row_off["stack_core_pct_per_candidate"],
        "pct_on": row_on["stack_core_pct_per_candidate"],
        "worker_pct_off": row_off["by_process_pct"]["worker"] / n,
        "worker_pct_on": row_on["by_process_pct"]["worker"] / n,
        "ratio": row_on["stack_core_pct_per_candidate"] / row_off["stack_core_pct_per_candidate"],
    }


def run(mode: str) -> dict[str, Any]:
    arms: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-e2e-identity-") as tmp:
        for camera, identity in ARMS:
            ramp = _ramp(mode, identity, lone=camera == "lone")
            arm = _arm(capacity.run_ramp(ramp, Path(tmp)))
            if identity:
                arm["identity_work"] = _identity_work()  # before the next ramp truncates
            arms[_arm_key(camera, identity)] = arm
    compared = {
        camera: compare(arms[_arm_key(camera, False)], arms[_arm_key(camera, True)])
        for camera in ("pattern", "lone")
    }
    return {"arms": arms, "compared": compared}


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
    summaries = [_summary(camera, result) for camera in result["compared"]]
    return "\n\n".join([table(header, rows), *summaries])


def _summary(camera: str, result: dict[str, Any]) -> str:
    work = result["arms"][_arm_key(camera, True)]["identity_work"]
    done = (
        f"Camera {camera}, identity on: {work['enrolled']} of {work['attempts']} attempts "
        f"enrolled, {work['compared_frames']} frames compared with the reference."
    )
    found = result["compared"][camera]
    if found is None:
        return f"{done} No N that both arms kept up with: no comparison."
    return (
        f"{done} At N={found['n']} (the largest N both arms kept up with): server CPU per "
        f"candidate {fmt(found['pct_off'])} % off, {fmt(found['pct_on'])} % on, "
        f"**×{fmt(found['ratio'])}**; worker per candidate {fmt(found['worker_pct_off'])} % off, "
        f"{fmt(found['worker_pct_on'])} % on."
    )


def _checked(work: dict[str, int]) -> bool:
    return work["enrolled"] > 0 and work["compared_frames"] > 0


def targets(result: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return []


def targets_across(entry: dict[str, Any], benchmarks: dict[str, Any]) -> list:
    """≥ 25 per core with identity on: e2e_capacity's projection (per candidate at its largest
    sustained N) divided by identity's cost ratio at equal N, both from one `bench.run`."""
    capacity_entry = benchmarks.get(e2e_capacity.NAME)
    found = []
    for camera, compared in entry["result"]["compared"].items():
        target = f"≥ {TARGET_PER_CORE} candidates per core end to end with identity on ({camera})"
        work = entry["result"]["arms"][_arm_key(camera, True)]["identity_work"]
        if capacity_entry is None or compared is None:
            found.append((target, "not measured (needs e2e_capacity in the same run)", False))
            continue
        same_run = capacity_entry.get("run") is not None and capacity_entry.get("run") == entry.get(
            "run"
        )
        per_core = capacity_entry["result"]["projected_per_core"] / compared["ratio"]
        measured = (
            f"{fmt(per_core)} per core: e2e_capacity's "
            f"{fmt(capacity_entry['result']['projected_per_core'])} / ×{fmt(compared['ratio'])} "
            f"(identity at N={compared['n']}; {work['enrolled']}/{work['attempts']} enrolled, "
            f"{work['compared_frames']} frames compared)"
            + ("" if same_run else "; **not the same run**")
        )
        found.append(
            (target, measured, same_run and _checked(work) and per_core >= TARGET_PER_CORE)
        )
    return found
