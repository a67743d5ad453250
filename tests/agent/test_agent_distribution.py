"""The agent's own distribution (packaging/agent): what it packages and what it depends on.

The install itself, in a fresh venv, and the one-file binary run in `make agent-smoke`
(tests/e2e/test_agent_dist.py); this checks the definition they are built from, in `make test`.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import agent

ROOT = Path(__file__).parents[2]
PACKAGING = ROOT / "packaging" / "agent"
PROJECT = tomllib.loads((PACKAGING / "pyproject.toml").read_text(encoding="utf-8"))
# Distributions the agent needs: capture and WebRTC, and HTTP.
ALLOWED = {"aiortc", "av", "httpx"}


def _names(requirements: list[str]) -> set[str]:
    return {
        re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].lower() for requirement in requirements
    }


def test_it_depends_on_capture_webrtc_and_http_only():
    assert _names(PROJECT["project"]["dependencies"]) == ALLOWED
    assert "optional-dependencies" not in PROJECT["project"]


def test_it_packages_the_agent_and_the_protocol_definition_only():
    wheel = PROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == []
    assert wheel["force-include"] == {"../../agent": "agent", "../../protocol": "protocol"}
    assert all((PACKAGING / source / "__init__.py").is_file() for source in wheel["force-include"])


def test_its_console_script_and_version_are_the_agents():
    assert PROJECT["project"]["scripts"] == {"autoproctor-agent": "agent.cli:main"}
    assert PROJECT["project"]["version"] == agent.__version__


def test_the_binary_is_built_from_the_same_entry_point_with_the_definition_inside():
    spec = (PACKAGING / "autoproctor-agent.spec").read_text(encoding="utf-8")
    assert '["entry.py"]' in spec and 'collect_data_files("protocol")' in spec
    assert "from agent.cli import main" in (PACKAGING / "entry.py").read_text(encoding="utf-8")
