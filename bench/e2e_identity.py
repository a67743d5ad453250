"""End-to-end server CPU per candidate with identity checks on, against off, in the same run
(issue #18: "the end-to-end target of ≥ 25 candidates per core still holds with identity on").

The same ramp as e2e_capacity (web, media, worker, PostgreSQL, Redis; the agent's defaults), run
twice, interleaved: once with the headless defaults, once with `impersonation` on, so every
candidate enrols and its one-face frames are compared with the reference (SFace, every 4th
frame). The fake camera alternates one face (1 s) and six (1 s): identity runs on the one-face
half, as it would on a candidate who is sometimes joined by others. The run checks that
enrolment and comparisons really happened, or its figure would be a cost of nothing."""

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


def _ramp(mode: str, identity: bool) -> capacity.Ramp:
    return capacity.Ramp(
        fps=e2e_capacity.FPS,
        steps=STEPS[mode],
        window_s=WINDOW_S[mode],
        warmup_s=WARMUP_S[mode],
        label="identity on" if identity else "identity off",
        options=IDENTITY_OPTIONS if identity else None,
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


def run(mode: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-e2e-identity-") as tmp:
        off = _arm(capacity.run_ramp(_ramp(mode, identity=False), Path(tmp)))
        on_result = capacity.run_ramp(_ramp(mode, identity=True), Path(tmp))
        work = _identity_work()
        on = _arm(on_result)
    return {
        "off": off,
        "on": on,
        "identity_work": work,
        "ratio": on["pct_per_candidate"] / off["pct_per_candidate"],
    }


def markdown(result: dict[str, Any]) -> str:
    rows = []
    for label in ("off", "on"):
        arm = result[label]
        for row in arm["rows"]:
            rows.append(
                [
                    f"identity {label}",
                    row["n"],
                    fmt(row["stack_core_pct_per_candidate"]),
                    fmt(row["by_process_pct"]["worker"]),
                    f"{fmt(row['machine_pct'])}" + (" (saturated)" if row["saturated"] else ""),
                    "yes" if row["sustained"] else "no: " + "; ".join(row["why_not"]),
                ]
            )
    header = [
        "arm",
        "N",
        "server CPU % of a core per candidate",
        "worker % (all candidates)",
        "machine % (of 200)",
        "sustained",
    ]
    work = result["identity_work"]
    on, off = result["on"], result["off"]
    return "\n\n".join(
        [
            table(header, rows),
            f"Identity on: {work['enrolled']} of {work['attempts']} attempts enrolled, "
            f"{work['compared_frames']} frames compared with the reference. Server CPU per "
            f"candidate {fmt(off['pct_per_candidate'])} % off (N={off['cost_at_n']}) and "
            f"{fmt(on['pct_per_candidate'])} % on (N={on['cost_at_n']}): ×{fmt(result['ratio'])}; "
            f"projected **{fmt(on['per_core'])} candidates per core with identity on** "
            f"({fmt(off['per_core'])} off; target ≥ {TARGET_PER_CORE}).",
        ]
    )


def targets(result: dict[str, Any]) -> list[tuple[str, str, bool]]:
    work = result["identity_work"]
    checked = work["enrolled"] > 0 and work["compared_frames"] > 0
    per_core = result["on"]["per_core"]
    return [
        (
            f"≥ {TARGET_PER_CORE} candidates per core end to end with identity on",
            f"{fmt(per_core)} per core projected ({work['enrolled']}/{work['attempts']} "
            f"enrolled, {work['compared_frames']} frames compared)",
            checked and per_core >= TARGET_PER_CORE,
        )
    ]
