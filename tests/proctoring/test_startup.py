"""Start-up checks: missing models stop the worker with a clear error; OpenCV is headless."""

import importlib.metadata
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.check_install import main as check_install

ROOT = Path(__file__).resolve().parents[2]


def env_without_models(tmp_path) -> dict[str, str]:
    env = dict(os.environ)
    env["PROCTOR_MODEL_DIR"] = str(tmp_path / "no-models-here")
    return env


def test_manage_check_names_the_missing_model(tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env_without_models(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "proctoring.E001" in done.stderr
    assert "model file det_500m.onnx not found in" in done.stderr


def test_worker_refuses_to_start_without_models(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "backend",
            "worker",
            "--concurrency",
            "1",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env_without_models(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "analysis worker not started" in output
    assert "det_500m.onnx" in output


def test_only_the_headless_opencv_build_is_installed():
    installed = {d.metadata["Name"].lower() for d in importlib.metadata.distributions()}
    assert "opencv-python-headless" in installed
    assert "opencv-python" not in installed
    assert check_install() == 0
    import cv2

    # The GUI build links a windowing toolkit; the headless build reports none.
    gui_line = next(line for line in cv2.getBuildInformation().splitlines() if "GUI:" in line)
    assert gui_line.split(":", 1)[1].strip() == "NONE"


def test_docker_compose_file_is_valid(tmp_path):
    import compose

    plugin_dir = tmp_path / "cli-plugins"
    plugin_dir.mkdir()
    binary = Path(compose.__file__).parent / "docker-compose"
    shutil.copy(binary, plugin_dir / "docker-compose")
    (plugin_dir / "docker-compose").chmod(0o755)
    env = dict(
        os.environ,
        DOCKER_CONFIG=str(tmp_path),
        DJANGO_SECRET_KEY="x",
        PROCTOR_SECRET_ENCRYPTION_KEY="y",
    )
    docker = shutil.which("docker")
    args = [docker, "compose"] if docker else [str(plugin_dir / "docker-compose")]
    done = subprocess.run(
        [*args, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "PROCTOR_SECRET_ENCRYPTION_KEY"]
)
def test_production_refuses_to_start_without_its_secrets(missing):
    env = dict(
        os.environ,
        PROCTOR_ENV="production",
        DJANGO_SECRET_KEY="k" * 50,
        DJANGO_ALLOWED_HOSTS="exam.example.com",
        PROCTOR_SECRET_ENCRYPTION_KEY="x" * 44,
    )
    env.pop(missing)
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert f"{missing} must be set when PROCTOR_ENV=production" in done.stderr


def test_production_settings_pass_the_deploy_checks():
    from cryptography.fernet import Fernet

    env = dict(
        os.environ,
        PROCTOR_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(60),
        DJANGO_ALLOWED_HOSTS="exam.example.com",
        PROCTOR_SECRET_ENCRYPTION_KEY=Fernet.generate_key().decode(),
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout
