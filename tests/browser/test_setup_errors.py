"""Each setup failure a browser can meet, simulated in real Chromium, with its SDK code.

Permissions are denied through the DevTools protocol (Browser.setPermission), devices removed by
launching without Chromium's fake devices, a window shared instead of the screen with the fake
display type, old browsers with their user agent. A failed setup creates no attempt: the REST
API answers 404 for it.
"""

import pytest

from tests.browser.conftest import credentials, exam_url, integrator_for

pytestmark = pytest.mark.browser

# Only the camera and the microphone: no screen to share (its picker has no fake answer
# without --use-fake-ui-for-media-stream, which would grant the camera too).
NO_SCREEN = {"track": {"captureSwitchedTab": False, "detectMultipleScreens": False}}
ONLY_SCREEN = {
    "trackingOptions": {
        "audio": False,
        "numHumans": False,
        "photosAtRandom": False,
        "captureSwitchedTab": True,
    }
}
ONLY_MICROPHONE = {
    "trackingOptions": {"numHumans": False, "photosAtRandom": False, "captureSwitchedTab": False}
}
CHROME_80 = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/80.0.3987.0 Safari/537.36"
)
IE_11 = "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko"
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Mobile Safari/537.36"
)


def fails_setup(stack, client, origin, candidate, attempt_id: str, options) -> dict:
    """Load the exam page, expect setup() to fail: the error, setupState 'error', no attempt."""
    candidate.page.goto(exam_url(origin, stack, credentials(client, attempt_id), options))
    error = candidate.wait_for("apErrorEvent")
    candidate.page.wait_for_function("apInst && apInst.setupState === 'error'")
    assert "apSetupCompleted" not in candidate.names()
    assert not integrator_for(stack, client).exists(attempt_id)
    return error


@pytest.mark.parametrize(
    ("denied", "code", "message"),
    [
        (["camera"], 4002, "camera permission was denied"),
        (["microphone"], 4003, "microphone permission was denied"),
        (["camera", "microphone"], 4006, "camera and microphone permissions were denied"),
    ],
)
def test_a_denied_permission_has_its_code(
    stack, exam_client, exam_origin, launch, denied, code, message
):
    candidate = launch(fake={"fake_ui": None})
    settings = {
        name: "denied" if name in denied else "granted" for name in ("camera", "microphone")
    }
    candidate.set_permissions(exam_origin, **settings)
    error = fails_setup(stack, exam_client, exam_origin, candidate, f"se-{code}", NO_SCREEN)
    assert error == {"errorCode": code, "message": message}
    # The candidate is told what happened and what to do.
    text = candidate.page.locator(".ap-message").inner_text()
    assert text.startswith({4002: "Camera", 4003: "Microphone", 4006: "Camera and"}[code])
    assert "reload the page" in text
    assert candidate.page.locator(".ap-badge").inner_text() == "Proctoring stopped"


def test_no_camera_is_4010(stack, exam_client, exam_origin, launch):
    candidate = launch(devices=False)
    error = fails_setup(stack, exam_client, exam_origin, candidate, "se-4010", NO_SCREEN)
    assert error == {"errorCode": 4010, "message": "no camera was found"}


def test_no_microphone_is_4009(stack, exam_client, exam_origin, launch):
    candidate = launch(devices=False)
    error = fails_setup(stack, exam_client, exam_origin, candidate, "se-4009", ONLY_MICROPHONE)
    assert error == {"errorCode": 4009, "message": "no microphone was found"}


# The SDK asks the picker to offer the entire screen first (displaySurface: 'monitor'), and
# Chromium's fake picker obeys the hint; a candidate can still choose a window. This drops the
# hint, so that the fake picker chooses what the fake display type says: a window.
CANDIDATE_CHOOSES = """
const choose = navigator.mediaDevices.getDisplayMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getDisplayMedia = (constraints) => choose({...constraints, video: true});
"""


def test_a_shared_window_is_not_the_entire_screen(stack, exam_client, exam_origin, launch):
    candidate = launch(fake={"display": "window"})
    candidate.context.add_init_script(CANDIDATE_CHOOSES)
    error = fails_setup(stack, exam_client, exam_origin, candidate, "se-4014", ONLY_SCREEN)
    assert error == {"errorCode": 4014, "message": "a window was shared, not the entire screen"}
    # The shared window is released at once.
    assert candidate.page.evaluate("apInst._screen") is None


def test_a_browser_that_cannot_share_the_screen_is_4013(stack, exam_client, exam_origin, launch):
    candidate = launch()
    # As most mobile browsers: no getDisplayMedia at all.
    candidate.context.add_init_script("delete MediaDevices.prototype.getDisplayMedia;")
    error = fails_setup(stack, exam_client, exam_origin, candidate, "se-4013", ONLY_SCREEN)
    assert error == {"errorCode": 4013, "message": "this browser cannot share the screen"}


def test_a_refused_screen_share_is_4011(stack, exam_client, exam_origin, launch):
    candidate = launch(fake={"fake_ui": "deny"})
    error = fails_setup(stack, exam_client, exam_origin, candidate, "se-4011", ONLY_SCREEN)
    assert error == {"errorCode": 4011, "message": "screen sharing was denied"}


def test_a_screen_that_cannot_be_captured_is_4012(stack, exam_client, exam_origin, launch):
    candidate = launch(devices=False)  # no fake capturer behind the accepted picker
    error = fails_setup(stack, exam_client, exam_origin, candidate, "se-4012", ONLY_SCREEN)
    assert error["errorCode"] == 4012
    assert error["message"] == "the screen could not be captured (NotReadableError)"


def test_an_insecure_page_gets_no_devices_and_says_why(stack, exam_client, exam_origin, launch):
    candidate = launch(secure_context=False)
    error = fails_setup(stack, exam_client, exam_origin, candidate, "se-insecure", NO_SCREEN)
    assert error["errorCode"] == 4006
    assert "serve the exam page over HTTPS" in error["message"]


@pytest.mark.parametrize(
    ("user_agent", "options", "code", "message"),
    [
        (CHROME_80, {}, 4016, "Chrome 80 is too old: version 94 or later is needed"),
        (IE_11, {}, 4017, "this browser cannot run a proctored test"),
        (
            ANDROID_PHONE,
            {"track": {"forceDesktop": True}},
            4001,
            "this test must be taken on a desktop or laptop computer (forceDesktop)",
        ),
    ],
)
def test_the_browser_is_told_from_its_user_agent(
    stack, exam_client, exam_origin, launch, user_agent, options, code, message
):
    candidate = launch(user_agent=user_agent)
    error = fails_setup(stack, exam_client, exam_origin, candidate, f"se-{code}", options)
    assert error == {"errorCode": code, "message": message}


def test_a_phone_without_force_desktop_may_take_the_test(stack, exam_client, exam_origin, launch):
    candidate = launch(user_agent=ANDROID_PHONE)
    creds = credentials(exam_client, "se-phone-ok")
    candidate.page.goto(exam_url(exam_origin, stack, creds, NO_SCREEN, auto=False))
    candidate.page.click("#begin")
    candidate.wait_for("apSetupCompleted")


def test_invalid_options_are_refused_by_name_as_the_server_does(
    stack, exam_client, exam_origin, launch
):
    candidate = launch()
    both = {"track": {"audio": True}, "trackingOptions": {"audio": True}}
    error = fails_setup(stack, exam_client, exam_origin, candidate, "se-4901", both)
    assert error == {
        "errorCode": 4901,
        "message": "options 'track' and 'trackingOptions' are the same option: give only one",
    }
