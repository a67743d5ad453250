"""CPU seconds of groups of processes and of the whole machine, and the broker's queue length:
what the capacity benchmarks and the soak both read."""

import time
from typing import Any

import psutil

# The broker lists the stack's worker consumes (the analysis batches and finalize).
ANALYSIS_QUEUES = ("analysis", "default")


def snapshot(groups: dict[str, list[int]]) -> dict[str, Any]:
    """utime + stime of every live pid per group, and the machine's busy CPU seconds."""
    per_pid: dict[str, dict[int, float]] = {}
    for group, pids in groups.items():
        per_pid[group] = {}
        for pid in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            per_pid[group][pid] = times.user + times.system
    total = psutil.cpu_times()
    busy = total.user + total.nice + total.system + total.irq + total.softirq + total.steal
    return {"at": time.monotonic(), "groups": per_pid, "machine": busy}


def cores(start: dict[str, Any], end: dict[str, Any]) -> dict[str, float]:
    """Average cores used by each group between two snapshots (new pids count from 0)."""
    elapsed = end["at"] - start["at"]
    used = {
        group: sum(
            seconds - start["groups"].get(group, {}).get(pid, 0.0) for pid, seconds in pids.items()
        )
        / elapsed
        for group, pids in end["groups"].items()
    }
    used["machine"] = (end["machine"] - start["machine"]) / elapsed
    return used


def queue_length(client) -> int:
    """Messages waiting in the broker (not those a worker took). The ingest batches samples
    (PROCTOR_BATCH_*), so one message carries one or more frames and audio windows."""
    return sum(client.llen(name) for name in ANALYSIS_QUEUES)
