"""The restart-policy files in deploy/ (issue #22): every process restarts, and every command
they name exists in this checkout (a unit that names a moved module fails here, not at 3 am)."""

import configparser
import importlib.util
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from proctoring import messages

ROOT = Path(__file__).resolve().parent.parent
SYSTEMD = ROOT / "deploy" / "systemd"
SUPERVISORD = ROOT / "deploy" / "supervisord" / "open-proctor.conf"
INSTALL_DIR = "/opt/open-proctor"
PYTHON = f"{INSTALL_DIR}/.venv/bin/python"
PROCESSES = {"web", "media", "worker", "beat"}


def _ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(path.read_text())
    return parser


def units() -> dict[str, configparser.ConfigParser]:
    return {
        path.stem.removeprefix("open-proctor-"): _ini(path)
        for path in sorted(SYSTEMD.glob("open-proctor-*.service"))
    }


def supervisord_programs() -> dict[str, configparser.SectionProxy]:
    parser = _ini(SUPERVISORD)
    return {
        name.removeprefix("program:open-proctor-"): parser[name]
        for name in parser.sections()
        if name.startswith("program:")
    }


def check_command(command: str) -> None:
    """The interpreter is the install's virtualenv; what it runs exists here."""
    args = shlex.split(command)
    assert args[0] == PYTHON, command
    if args[1] == "-m":
        module, rest = args[2], args[3:]
        assert importlib.util.find_spec(module) is not None, f"no module {module}"
        if module == "uvicorn":
            target_module, attr = rest[0].split(":")
            spec = importlib.util.find_spec(target_module)
            assert spec is not None and f"{attr} =" in Path(spec.origin).read_text()
        if module == "celery":
            assert rest[:2] == ["-A", "backend"] and (ROOT / "backend" / "celery.py").exists()
            if rest[2] == "worker":
                queues = set(rest[rest.index("-Q") + 1].split(","))
                assert queues == {messages.ANALYSIS_QUEUE, messages.DEFAULT_QUEUE}
            else:
                assert rest[2] == "beat"
    else:
        script, subcommand = args[1], args[2]
        assert script == f"{INSTALL_DIR}/manage.py" and (ROOT / "manage.py").exists()
        assert (ROOT / "proctoring" / "management" / "commands" / f"{subcommand}.py").exists()


def test_every_process_has_a_systemd_unit_that_always_restarts():
    found = units()
    assert set(found) == PROCESSES
    for name, unit in found.items():
        service = unit["Service"]
        assert service["Restart"] == "always", name
        assert unit["Unit"]["StartLimitIntervalSec"] == "0", name  # never gives up
        assert unit["Unit"]["PartOf"] == "open-proctor.target"
        check_command(service["ExecStart"])
    target = _ini(SYSTEMD / "open-proctor.target")
    assert set(target["Unit"]["Wants"].split()) == {f"open-proctor-{p}.service" for p in PROCESSES}


def test_the_supervisord_programs_always_restart_and_match_the_units():
    programs = supervisord_programs()
    assert set(programs) == PROCESSES
    for name, program in programs.items():
        assert program["autorestart"] == "true", name
        assert int(program["startretries"]) >= 100
        check_command(program["command"])
        assert program["command"] == units()[name]["Service"]["ExecStart"]


def test_the_units_run_what_compose_runs():
    """Same worker queues as docker-compose.yml, the reference deployment, which restarts its
    services (`restart: unless-stopped` on the shared app block)."""
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "  restart: unless-stopped\n\nservices:" in compose
    worker = shlex.split(units()["worker"]["Service"]["ExecStart"])
    queues = worker[worker.index("-Q") + 1]
    assert f'"-Q", "{queues}"' in compose


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_units(tmp_path):
    """systemd's own parser, with the install directory pointed at this checkout."""
    for path in SYSTEMD.glob("open-proctor*"):
        if path.suffix in (".service", ".target"):
            text = path.read_text().replace(INSTALL_DIR, str(tmp_path / "install"))
            (tmp_path / path.name).write_text(text)
    python = tmp_path / "install" / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(shutil.which("python3"))
    files = sorted(str(p) for p in tmp_path.glob("open-proctor*"))
    result = subprocess.run(
        ["systemd-analyze", "verify", *files], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
