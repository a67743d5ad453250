"""`python -m bench.run [--quick] [--only NAME]`: run the benchmarks, write JSON and markdown."""

import argparse
import json
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import (
    api_load,
    browser_cost,
    counting,
    e2e_capacity,
    e2e_identity,
    env,
    identity,
    ingest_capacity,
    report,
    scoring,
    violation_latency,
)

RESULTS_DIR = env.ROOT / "bench" / "results"
FULL_RESULTS = RESULTS_DIR / "latest.json"
QUICK_RESULTS = RESULTS_DIR / "quick.json"
DOC = env.ROOT / "docs" / "benchmarks.md"
START_MARK = "<!-- bench:results:start -->"
END_MARK = "<!-- bench:results:end -->"
# Priority order of the issue; each module has NAME, TITLE, run(mode), markdown(), targets().
MODULES: tuple[ModuleType, ...] = (
    counting,
    scoring,
    violation_latency,
    api_load,
    ingest_capacity,
    e2e_capacity,
    identity,
    e2e_identity,
    browser_cost,
)
BY_NAME = {module.NAME: module for module in MODULES}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few, short runs: a smoke test")
    parser.add_argument(
        "--only",
        choices=sorted(BY_NAME),
        action="append",
        help="run this benchmark only (repeat it to run several in one run)",
    )
    parser.add_argument(
        "--no-docs", action="store_true", help=f"do not rewrite the results in {DOC.name}"
    )
    return parser.parse_args(argv)


def run_one(module: ModuleType, mode: str, run: str) -> dict[str, Any]:
    print(f"[bench] {module.NAME} ({mode}) ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    result = module.run(mode)
    elapsed = time.perf_counter() - started
    print(f"[bench] {module.NAME} done in {elapsed:.1f} s", file=sys.stderr, flush=True)
    return {
        "mode": mode,
        "run": run,  # when the bench.run that measured it started: the same in one run
        "measured_at": report.now_utc(),
        "seconds": elapsed,
        "result": result,
    }


def load_previous(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def collect(args: argparse.Namespace) -> dict[str, Any]:
    mode = "quick" if args.quick else "full"
    path = QUICK_RESULTS if args.quick else FULL_RESULTS
    # --only keeps the other benchmarks' last results, so the report stays whole.
    benchmarks = load_previous(path).get("benchmarks", {}) if args.only else {}
    selected = [m for m in MODULES if m.NAME in args.only] if args.only else list(MODULES)
    run = report.now_utc()
    for module in selected:
        benchmarks[module.NAME] = run_one(module, mode, run)
    return {
        "date": report.now_utc(),
        "machine": report.machine(),
        "versions": report.versions(),
        "benchmarks": benchmarks,
    }


def render(results: dict[str, Any]) -> str:
    machine, versions = results["machine"], results["versions"]
    parts = [
        f"Measured {results['date']} on {machine['cores']} cores of `{machine['cpu_model']}` "
        f"({machine['memory_gb']} GB RAM, Linux {machine['kernel']}).",
        "Versions: " + ", ".join(f"{name} {version}" for name, version in versions.items()) + ".",
        "### Targets\n\n" + targets_table(results),
    ]
    for module in MODULES:
        entry = results["benchmarks"].get(module.NAME)
        if entry is None:
            parts.append(f"### {module.TITLE}\n\nNot measured in this run.")
            continue
        when = f"_{entry['mode']} run, {entry['measured_at']}, took {entry['seconds']:.0f} s._"
        parts.append(f"### {module.TITLE}\n\n{when}\n\n{module.markdown(entry['result'])}")
    return "\n\n".join(parts) + "\n"


def targets_table(results: dict[str, Any]) -> str:
    rows = []
    for module in MODULES:
        entry = results["benchmarks"].get(module.NAME)
        if entry is not None:
            found = module.targets(entry["result"])
            # A target that needs another benchmark's figure (e2e_identity: e2e_capacity's).
            if hasattr(module, "targets_across"):
                found += module.targets_across(entry, results["benchmarks"])
            rows += [
                [target, measured, "met" if met else "**not met**"]
                for target, measured, met in found
            ]
    return report.table(["target (issue #6)", "measured", ""], rows)


def write_doc(results: dict[str, Any]) -> None:
    text = DOC.read_text()
    start, end = text.index(START_MARK) + len(START_MARK), text.index(END_MARK)
    DOC.write_text(text[:start] + "\n" + render(results) + text[end:])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    env.prepare()
    results = collect(args)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = QUICK_RESULTS if args.quick else FULL_RESULTS
    path.write_text(json.dumps(results, indent=1) + "\n")
    if not args.quick and not args.no_docs:
        write_doc(results)
    print(render(results))
    print(f"[bench] wrote {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
