"""The README's own agent commands, as printed, for the end-to-end tests that run them."""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
# The README's placeholders, and what a test puts in their place.
SERVER = "http://127.0.0.1:8000"
MEDIA = "../shared/media"
ATTEMPT = "attempt-42"
CONSOLE_SCRIPT = """#!{python}
import sys

from agent.cli import main

sys.exit(main())
"""


def readme_block(name: str) -> str:
    """The sh code block between `<!-- name:start -->` and `<!-- name:end -->` in README.md."""
    text = README.read_text(encoding="utf-8")
    section = text.split(f"<!-- {name}:start -->", 1)[1].split(f"<!-- {name}:end -->", 1)[0]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, f"no sh block in README section {name}"
    return match.group(1)


def filled(block: str, *, server: str, client_id: str, secret: str, media: Path) -> str:
    """The block with its placeholders replaced, and nothing else changed."""
    for placeholder, value in (
        (SERVER, server),
        ("CLIENT_ID", client_id),
        ("CLIENT_SECRET", secret),
        (MEDIA, str(media)),
    ):
        assert placeholder in block, f"the README block no longer has {placeholder}"
        block = block.replace(placeholder, value)
    return block


def console_script_dir(folder: Path) -> Path:
    """A folder with `autoproctor-agent` as pip writes it, for this Python (the dev venv, where
    the repository is installed without the agent's own distribution)."""
    script = folder / "autoproctor-agent"
    script.write_text(CONSOLE_SCRIPT.format(python=sys.executable), encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def headless_env(bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env
