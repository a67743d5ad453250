"""The development audio set: made deterministically, labelled, and hard where it should be."""

import hashlib
import json

import numpy as np
import pytest

from proctoring.analysis import audio, devaudio
from proctoring.analysis.devaudio import clips, tools
from proctoring.analysis.errors import AnalysisError

# Two small clips: one made by numpy alone, one by espeak-ng and SoX through a telephone band.
QUICK = ("door_knocks.wav", "short_answers_telephone.wav")


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def quick_set(tmp_path_factory):
    return devaudio.generate(tmp_path_factory.mktemp("devaudio"), names=QUICK)


def test_the_tools_are_installed():
    # CI installs requirements/apt.txt; a machine without them must fail here, not skip.
    assert tools.missing_tools() == []


def test_the_same_recipe_makes_the_same_bytes(quick_set, tmp_path):
    again = devaudio.generate(tmp_path, names=QUICK)

    assert [digest(again / name) for name in QUICK] == [digest(quick_set / name) for name in QUICK]


def test_another_seed_makes_another_draw(quick_set, tmp_path):
    other = devaudio.generate(tmp_path, names=QUICK[:1], seed=devaudio.SEED + 1)

    assert digest(other / QUICK[0]) != digest(quick_set / QUICK[0])
    assert json.loads((other / "expected.json").read_text())["seed"] == devaudio.SEED + 1


def test_labels_have_the_layout_of_shared_media(quick_set):
    labels = json.loads((quick_set / "expected.json").read_text())

    assert set(labels["audio"]) == set(QUICK)
    knocks, answers = (labels["audio"][name] for name in QUICK)
    assert (knocks["speech"], knocks["speech_s"], knocks["category"]) == (
        False,
        [],
        clips.IMPULSIVE,
    )
    assert answers["speech"] is True and answers["category"] == clips.NARROWBAND
    assert len(answers["speech_s"]) == len(clips.SHORT_ANSWERS)


def test_words_are_where_the_labels_say(quick_set):
    labels = json.loads((quick_set / "expected.json").read_text())["audio"]
    pcm = audio.read_wav(quick_set / "short_answers_telephone.wav")
    segments = labels["short_answers_telephone.wav"]["speech_s"]

    starts = [start for start, _ in segments]
    # Each rendering starts with espeak-ng's own lead-in of up to about 50 ms of silence.
    assert starts == pytest.approx(list(clips.SHORT_ANSWER_STARTS), abs=0.08)
    assert all(
        got >= planned for got, planned in zip(starts, clips.SHORT_ANSWER_STARTS, strict=True)
    )
    for start, end in segments:
        words = pcm[round(start * 16000) : round(end * 16000)]
        gap = pcm[round((end + 0.5) * 16000) : round((end + 1.0) * 16000)]
        assert audio.dbfs(words) > audio.dbfs(gap) + 20


def test_the_telephone_band_has_nothing_above_4_khz(quick_set):
    pcm = audio.read_wav(quick_set / "short_answers_telephone.wav")

    assert audio.high_band_db(pcm[:16000]) < audio.NARROWBAND_MAX_HIGH_BAND_DB


def test_ensure_reuses_an_up_to_date_set_and_remakes_a_stale_one(quick_set, tmp_path):
    made = devaudio.ensure(tmp_path, names=QUICK[:1])
    stamp = (made / QUICK[0]).stat().st_mtime_ns

    assert devaudio.ensure(tmp_path, names=QUICK[:1]) == made
    assert (made / QUICK[0]).stat().st_mtime_ns == stamp
    labels = json.loads((made / "expected.json").read_text())
    labels["recipe"] = "stale"
    (made / "expected.json").write_text(json.dumps(labels))
    devaudio.ensure(tmp_path, names=QUICK[:1])
    assert json.loads((made / "expected.json").read_text())["recipe"] == devaudio.recipe_key()


def test_every_clip_has_a_category_and_a_unique_name():
    names = [clip.name for clip in devaudio.CLIPS]

    assert len(names) == len(set(names))
    assert {clip.category for clip in devaudio.CLIPS} == {
        clips.IMPULSIVE,
        clips.STEADY,
        clips.SPEECH,
        clips.NARROWBAND,
        clips.WHISPER,
        clips.SHORT,
        clips.MUSIC,
    }


def test_an_unknown_clip_is_refused(tmp_path):
    with pytest.raises(AnalysisError) as error:
        devaudio.generate(tmp_path, names=["doorbell.wav"])

    assert str(error.value) == "unknown development clip(s): doorbell.wav"


def test_a_missing_tool_is_named_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(tools.shutil, "which", lambda name: None if name == "sox" else "/bin/x")

    with pytest.raises(AnalysisError) as error:
        devaudio.generate(tmp_path, names=QUICK[:1])

    assert str(error.value) == (
        "cannot make the development audio set: sox not found; "
        "apt-get install espeak-ng sox (listed in requirements/apt.txt)"
    )


def test_levels_are_as_planned(quick_set):
    knocks = audio.read_wav(quick_set / "door_knocks.wav").astype(np.float32) / 32768

    assert 20 * np.log10(np.abs(knocks).max()) == pytest.approx(-3.0, abs=0.1)
    quiet = np.sort(np.abs(knocks))[: knocks.size // 2]
    assert audio.dbfs(quiet) < -55  # between the knocks: the room tone
