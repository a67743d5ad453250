"""Start-up checks: missing models stop the worker with a clear error; OpenCV is headless."""

import importlib.metadata
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
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


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("not-a-fernet-key", "proctoring.E012"),
        ("", "proctoring.E011"),
    ],
)
def test_check_deploy_validates_the_fernet_key(key, problem):
    env = dict(
        os.environ,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(60),
        PROCTOR_SECRET_ENCRYPTION_KEY=key,
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "security"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert problem in done.stderr
    assert "proctoring.E010" not in done.stderr


def test_check_deploy_refuses_the_development_key():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "security"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0 and "proctoring.E010" in done.stderr


def _exposed_web(tmp_path, host_env: dict[str, str]) -> tuple[int, dict]:
    """Starts uvicorn on every address and asks it over a non-loopback one of this machine."""
    import httpx

    address = _non_loopback_address()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"} | host_env
    log = open(tmp_path / "web.log", "wb")  # noqa: SIM115
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.asgi:application",
            "--host",
            "0.0.0.0",  # noqa: S104 (the point: exposed to the network)
            "--port",
            str(port),
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(200):
            try:
                local = httpx.get(f"http://127.0.0.1:{port}/api/v1/health/", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        remote = httpx.get(f"http://{address}:{port}/api/v1/health/", timeout=5)
        return local.status_code, {**remote.json(), "http": remote.status_code}
    finally:
        web.terminate()
        web.wait(10)
        log.close()


def _non_loopback_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route's source
        address = sock.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("this machine has no non-loopback address")
    return address


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_development_key_serves_loopback_only(tmp_path):
    local, remote = _exposed_web(tmp_path, {})
    assert local == 200
    assert remote["http"] == 503 and remote["code"] == "insecure_secret_key"


def test_an_explicit_key_serves_the_network(tmp_path):
    local, remote = _exposed_web(tmp_path, {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50)})
    assert (local, remote["http"]) == (200, 200)


def test_the_development_key_refuses_requests_a_local_proxy_forwards():
    import asyncio

    from proctoring.api.middleware import LoopbackOnlyWithDevelopmentKeyASGI

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def status_for(headers):
        sent = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "server": ("127.0.0.1", 8000), "headers": headers}
        asyncio.run(LoopbackOnlyWithDevelopmentKeyASGI(app)(scope, None, send))
        return sent[0]["status"]

    assert status_for([(b"host", b"localhost")]) == 200
    assert status_for([(b"x-forwarded-for", b"203.0.113.9")]) == 503
    assert status_for([(b"Forwarded", b"for=203.0.113.9")]) == 503
