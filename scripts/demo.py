"""`make demo`: the whole product on an embedded default (SQLite + a Redis it starts itself).

Starts the web, media and worker processes, streams the shared sample camera and microphone
through the real agent for about 20 s, stops, prints the Trust Score and violations, and stops
every process it started.
"""

import json
import os
import secrets
import socket
import subprocess
import sys

from scripts.embedded_redis import EmbeddedRedis
from scripts.stack import HEADLESS_TRACKING, ROOT, Stack, free_port

DEMO_DIR = ROOT / "var" / "demo"
SHARED = ROOT.parent / "shared"
STREAM_SECONDS = int(os.environ.get("DEMO_SECONDS", "20"))
ATTEMPT_ID = "demo-attempt"
ADMIN_USER = "admin"


def demo_env(redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="backend.settings",
        DATABASE_URL=f"sqlite:///{DEMO_DIR / 'demo.sqlite3'}",
        REDIS_URL=redis_url,
        PROCTOR_MODEL_DIR=env.get("PROCTOR_MODEL_DIR", str(SHARED / "models")),
        PROCTOR_MEDIA_ROOT=str(DEMO_DIR / "media"),
        PROCTOR_ICE_HOST_ADDRESSES="127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    # A key of this run only (its database is new each run too): the public development key
    # would let anyone forge this demo's evidence links.
    env.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def prepare_database(env: dict[str, str]) -> tuple[dict, str]:
    """A fresh SQLite database with one client and an admin login."""
    for leftover in DEMO_DIR.glob("demo.sqlite3*"):
        leftover.unlink()
    manage(env, "migrate", "--noinput", "-v", "0")
    credentials = json.loads(manage(env, "create_client", "Demo exam platform", "--json"))
    password = secrets.token_urlsafe(12)
    manage(
        env,
        "shell",
        "-c",
        # The admin's password validators hold for this login too (backend/settings.py).
        "from django.contrib.auth.models import User; "
        "from django.contrib.auth.password_validation import validate_password; "
        f"validate_password('{password}'); "
        f"User.objects.create_superuser('{ADMIN_USER}', 'admin@example.com', '{password}')",
    )
    return credentials, password


def hashed_attempt_id(secret: str) -> str:
    from proctoring.signing import hash_test_attempt_id  # needs no database

    return hash_test_attempt_id(client_secret=secret, test_attempt_id=ATTEMPT_ID)


def run_agent(stack: Stack, credentials: dict) -> dict:
    media = SHARED / "media"
    args = [
        *(sys.executable, "-m", "agent", "run", "--server", stack.url),
        *("--client-id", credentials["client_id"], "--test-attempt-id", ATTEMPT_ID),
        *("--hashed-test-attempt-id", hashed_attempt_id(credentials["client_secret"])),
        *("--camera", str(media / "fake_camera_640x480_15fps_2s.y4m")),
        *("--microphone", str(media / "fake_mic_16k_2s.wav")),
        *("--duration", str(STREAM_SECONDS), "--ice-host", "127.0.0.1", "--json"),
    ]
    if not os.environ.get("DISPLAY"):
        # No screen to share on a headless machine: the screen-based options are off.
        args += ["--options", json.dumps({"trackingOptions": HEADLESS_TRACKING})]
    print(f"agent: streaming the sample camera and microphone for {STREAM_SECONDS} s ...")
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    stopped = {}
    for line in process.stdout:
        event = json.loads(line)
        print(f"  {event['event']:<24} {json.dumps(event['detail'])[:90]}")
        if event["event"] == "apMonitoringStopped":
            stopped = event["detail"]
    if process.wait() != 0:
        raise SystemExit("the agent failed; see the lines above")
    return stopped


def print_result(stack: Stack, credentials: dict, password: str) -> None:
    import httpx

    auth = (credentials["client_id"], credentials["client_secret"])
    attempt = httpx.get(f"{stack.url}/api/v1/attempts/{ATTEMPT_ID}/", auth=auth).json()
    print(
        f"\nattempt {attempt['test_attempt_id']}: status {attempt['status']}, "
        f"trust score {attempt['trust_score']} (formula {attempt['score_version']})"
    )
    print("violations:")
    for v in attempt["violations"]:
        print(
            f"  {v['type']:<16} code {v['code']}  {v['start_s']:7.2f}s -> {v['end_s']:7.2f}s"
            f"  ({v['duration_s']:.1f} s)  {json.dumps(v['details'])}"
        )
    print(
        f"\nbrowser SDK demo: {stack.url}/sdk/v1/demo/  (an exam page proctored by "
        "autoproctor.js: open it in Chrome, Edge or Firefox on this machine)"
    )
    print(f"admin: {stack.url}/admin/  user {ADMIN_USER}  password {password}")


def main() -> None:
    redis = EmbeddedRedis(DEMO_DIR / "redis").start()
    try:
        env = demo_env(redis.url)
        credentials, password = prepare_database(env)
        # The browser demo page signs its attempts for the demo client; a browser ignores
        # loopback ICE candidates, so the media process offers this machine's addresses too.
        env["PROCTOR_SDK_DEMO_CLIENT_ID"] = credentials["client_id"]
        env["PROCTOR_ICE_HOST_ADDRESSES"] = ",".join(["127.0.0.1", *_lan_addresses()])
        port = 8000 if _port_free(8000) else free_port()
        with Stack(env=env, log_dir=DEMO_DIR / "logs", port=port) as stack:
            run_agent(stack, credentials)
            print_result(stack, credentials, password)
            if sys.stdin.isatty() and not os.environ.get("CI"):
                input("The admin stays up until you press Enter. ")
        print("demo finished; every process it started is stopped")
    finally:
        redis.stop()


def _lan_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback."""
    import psutil

    return [
        address.address
        for addresses in psutil.net_if_addrs().values()
        for address in addresses
        if address.family == socket.AF_INET and not address.address.startswith("127.")
    ]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


if __name__ == "__main__":
    main()
