"""The browser SDK (sdk/v1/autoproctor.js, its .d.ts) agrees with the protocol definition.

The SDK takes every code number, message, option default and bound, and stream requirement from
protocol.json, written into the script when the server serves it; these tests fail when the
SDK names something the definition does not have, or the definition has something the SDK or
its type declarations miss. tests/browser checks every event the SDK emits in real Chromium
against the definition too.
"""

import json
import re
from pathlib import Path

import pytest

import protocol
from proctoring.sdk import files

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "sdk" / "v1" / "autoproctor.js").read_text(encoding="utf-8")
DECLARATIONS = (ROOT / "sdk" / "v1" / "autoproctor.d.ts").read_text(encoding="utf-8")
DEFINITION = protocol.definition()
CHROMIUM = Path("/usr/bin/chromium")


def names(kind: str) -> set[str]:
    return {entry["name"] for entry in DEFINITION["codes"][kind]}


def numbers(kind: str) -> set[int]:
    return {entry["code"] for entry in DEFINITION["codes"][kind]}


CHANNEL_NAMES = {entry["name"] for entry in DEFINITION["channel"]["client_event_codes"]}
# Upper-case literals of the script that are not code names.
NOT_CODES = {"POST"}
ALL_NAMES = names("error") | names("success") | names("evidence") | CHANNEL_NAMES


def test_every_code_the_sdk_names_is_in_the_definition():
    quoted = set(re.findall(r"'([A-Z][A-Z0-9_]{2,})'", SCRIPT)) - NOT_CODES
    assert quoted, "the SDK names its codes by the definition's names"
    assert quoted <= ALL_NAMES, f"not in protocol.json: {sorted(quoted - ALL_NAMES)}"
    reported = set(re.findall(r"_report\('([A-Z_]+)'", SCRIPT))
    assert reported <= CHANNEL_NAMES
    assert set(re.findall(r"_success\('([A-Z_]+)'\)", SCRIPT)) == names("success")


def test_every_error_code_has_a_message_for_the_candidate():
    start = SCRIPT.index("const FIXES = {")
    block = SCRIPT[start : SCRIPT.index("};", start)]
    fixes = set(re.findall(r"^\s+([A-Z][A-Z0-9_]+):", block, re.MULTILINE))
    assert fixes == names("error")


def test_the_one_code_the_sdk_knows_before_the_definition_is_the_definitions():
    fallback = int(re.search(r"const FALLBACK_FAILED_TO_LOAD = (\d+);", SCRIPT).group(1))
    assert fallback == protocol.codes("error")["FAILED_TO_LOAD"]


def test_the_sdk_emits_exactly_the_defined_events():
    emitted = set(re.findall(r"_emit\('(ap[A-Za-z]+)'", SCRIPT))
    emitted |= {"apErrorEvent", "apSuccessEvent"} & set(re.findall(r"'(ap[A-Za-z]+)'", SCRIPT))
    assert emitted == set(DEFINITION["events"])


def test_the_channel_messages_the_sdk_sends_and_reads_are_the_definitions():
    channel = DEFINITION["channel"]
    sent = set(re.findall(r"\{ type: '(\w+)', code", SCRIPT))
    read = set(re.findall(r"message\.type (?:===|!==) '(\w+)'", SCRIPT))
    assert sent == set(channel["client_messages"])
    assert read == set(channel["server_messages"])
    assert "createDataChannel(this._definition.raw.channel.label" in SCRIPT


def test_the_served_script_carries_the_definition(client):
    response = client.get("/sdk/v1/autoproctor.js")
    assert response.status_code == 200
    body = response.content.decode()
    assert files.PROTOCOL_MARK not in body
    embedded = re.search(r"const PROTOCOL = (\{.*?\});\n", body).group(1)
    assert json.loads(embedded) == DEFINITION


def _union(type_name: str) -> set[str]:
    block = re.search(rf"type {type_name} =(.*?);", DECLARATIONS, re.DOTALL).group(1)
    return set(re.findall(r"'?([\w-]+)'?\s*(?://[^\n]*)?(?:\n|$)", block.replace("|", "\n"))) - {""}


@pytest.mark.parametrize(
    ("type_name", "kind"),
    [("SuccessCode", "success"), ("ErrorCode", "error"), ("EvidenceCode", "evidence")],
)
def test_the_type_declarations_list_every_code(type_name, kind):
    declared = {int(value) for value in _union(type_name)}
    assert declared == numbers(kind)


def _interface(name: str) -> str:
    return re.search(rf"interface {name} \{{(.*?)\n  \}}", DECLARATIONS, re.DOTALL).group(1)


def test_the_type_declarations_list_every_option_with_its_default():
    block = _interface("TrackingOptions")
    pattern = r"Default (\w+)\. \*/\n\s+(\w+)\?:"
    declared = {name: json.loads(default) for default, name in re.findall(pattern, block)}
    options = re.findall(r"^\s+(\w+)\?:", block, re.MULTILINE)
    specs = DEFINITION["options"]["trackingOptions"]
    assert set(options) == set(specs)
    assert declared == {name: spec["default"] for name, spec in specs.items()}


def test_the_type_declarations_type_every_event():
    block = re.search(r"interface WindowEventMap \{(.*?)\n\}", DECLARATIONS, re.DOTALL).group(1)
    assert set(re.findall(r"^\s+(ap\w+):", block, re.MULTILINE)) == set(DEFINITION["events"])
    steps = DEFINITION["events"]["apProgressUpdate"]["values"]["step"]
    assert _union("ProgressStep") == set(steps)


CASES = [
    None,
    {},
    {"track": {"audio": False, "numHumans": True, "tabSwitch": True}},
    {"trackingOptions": {"numPhotosAtRandom": 100, "forceFullScreen": True}},
    {"trackingOptions": {"numPhotosAtRandom": 101}},
    {"trackingOptions": {"numPhotosAtRandom": 0}},
    {"trackingOptions": {"audio": 1}},
    {"trackingOptions": {"numPhotosAtRandom": True}},
    {"trackingOptions": {"numPhotosAtRandom": 2.5}},
    {"trackingOptions": {"bogus": True}},
    {"track": {}, "trackingOptions": {}},
    {"track": []},
    {"trackingOptions": None},
    {"userDetails": None},
    {"userDetails": {"name": "x" * 201}},
    {"userDetails": {"name": "Ada", "email": "ada@example.com"}},
    {"userDetails": {"phone": "1"}},
    {"testDuration": 0},
    {"testDuration": 1441},
    {"testDuration": 90, "lookupKey": "course-7"},
    {"lookupKey": 5},
    {"lookupKey": "k" * 201},
    {"surprise": 1},
    [],
    "options",
]


def server_outcome(options):
    from proctoring.exceptions import ProctoringError
    from proctoring.options import validate_options

    try:
        return ["ok", validate_options(options)]
    except ProctoringError as exc:
        return ["refused", exc.message]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (requirements/apt.txt)")
def test_the_sdk_and_the_server_accept_and_refuse_the_same_options(client, monkeypatch):
    from playwright.sync_api import sync_playwright

    served = client.get("/sdk/v1/autoproctor.js").content.decode()
    expected = [server_outcome(options) for options in CASES]
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")  # Playwright's loop; no DB use here
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page()
        page.add_script_tag(content=served)
        outcomes = page.evaluate(
            """(cases) => cases.map((options) => {
                 try { return ['ok', AutoProctor.validateOptions(options)]; }
                 catch (e) { return ['refused', e.message]; }
               })""",
            CASES,
        )
        browser.close()
    assert outcomes == expected
