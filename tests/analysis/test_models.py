"""Model files: resolving them, and downloading them only when their bytes check out."""

import hashlib
import os
import stat
import zipfile
from pathlib import Path

import pytest

from proctoring.analysis.errors import AnalysisError, ModelDownloadError, ModelNotFoundError
from proctoring.analysis.models import (
    DETECTOR_NAMES,
    MODEL_SOURCES,
    ModelSource,
    download_models,
    main,
    model_path,
    silero_vad_path,
)

PAYLOAD = b"pretend this is an onnx model\n" * 100


def source_for(url: str, *, payload: bytes = PAYLOAD, member: str | None = None) -> ModelSource:
    return ModelSource(
        filename="model.onnx",
        url=url,
        sha256=hashlib.sha256(payload).hexdigest(),
        size=len(payload),
        archive_member=member,
    )


@pytest.fixture
def served(tmp_path):
    """A file:// URL to PAYLOAD, standing in for the release server."""
    path = tmp_path / "server" / "model.onnx"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path.as_uri()


@pytest.fixture
def install_dir(tmp_path):
    path = tmp_path / "models"
    path.mkdir()
    return path


def test_every_detector_resolves_in_the_shared_model_dir(model_dir):
    for name in DETECTOR_NAMES:
        assert model_path(name, model_dir=model_dir) == model_dir / MODEL_SOURCES[name].filename


def test_the_expected_checksums_match_the_shared_models(model_dir):
    for source in MODEL_SOURCES.values():
        data = (model_dir / source.filename).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (source.sha256, source.size)


def test_missing_model_names_file_directory_and_remedy(tmp_path):
    with pytest.raises(ModelNotFoundError) as error:
        model_path("yunet", model_dir=tmp_path)

    message = str(error.value)
    assert f"model file face_detection_yunet_2023mar.onnx not found in {tmp_path}" in message
    assert f"python -m proctoring.analysis.models {tmp_path} yunet" in message
    assert isinstance(error.value, AnalysisError)


def test_unknown_model_name_is_an_error(tmp_path):
    with pytest.raises(AnalysisError, match="unknown model 'blazeface'"):
        model_path("blazeface", model_dir=tmp_path)


def test_silero_vad_ships_in_its_wheel():
    assert silero_vad_path().name == "silero_vad.onnx"


def test_download_installs_a_verified_file(served, install_dir):
    [installed] = download_models(install_dir, ["m"], sources={"m": source_for(served)})

    assert installed == install_dir / "model.onnx"
    assert installed.read_bytes() == PAYLOAD
    assert stat.S_IMODE(installed.stat().st_mode) == 0o644
    assert sorted(os.listdir(install_dir)) == ["model.onnx"]


def test_download_renames_a_complete_file_into_place(served, install_dir, monkeypatch):
    renames = []
    real_replace = os.replace

    def spy(source, target):
        # At the moment of the rename the target is absent and the scratch file is complete.
        source, target = Path(source), Path(target)
        renames.append((source.parent, source.read_bytes(), target.exists()))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)

    download_models(install_dir, ["m"], sources={"m": source_for(served)})

    assert renames == [(install_dir, PAYLOAD, False)]


def test_checksum_mismatch_leaves_no_file_behind(served, install_dir):
    wrong = source_for(served, payload=b"other bytes")

    with pytest.raises(ModelDownloadError, match="model.onnx from file://.* does not match"):
        download_models(install_dir, ["m"], sources={"m": wrong})

    assert os.listdir(install_dir) == []


def test_checksum_mismatch_keeps_the_previous_file(served, install_dir):
    (install_dir / "model.onnx").write_bytes(b"previous model")

    with pytest.raises(ModelDownloadError):
        download_models(install_dir, ["m"], sources={"m": source_for(served, payload=b"x")})

    assert os.listdir(install_dir) == ["model.onnx"]
    assert (install_dir / "model.onnx").read_bytes() == b"previous model"


def test_a_model_pack_is_unzipped(tmp_path, install_dir):
    pack = tmp_path / "buffalo_test.zip"
    with zipfile.ZipFile(pack, "w") as archive:
        archive.writestr("buffalo_test/other.onnx", b"another model")
        archive.writestr("buffalo_test/model.onnx", PAYLOAD)
    source = source_for(pack.as_uri(), member="model.onnx")

    download_models(install_dir, ["m"], sources={"m": source})

    assert (install_dir / "model.onnx").read_bytes() == PAYLOAD
    assert os.listdir(install_dir) == ["model.onnx"]


def test_a_pack_without_the_member_is_an_error(tmp_path, install_dir):
    pack = tmp_path / "empty.zip"
    with zipfile.ZipFile(pack, "w") as archive:
        archive.writestr("readme.txt", b"nothing here")

    with pytest.raises(ModelDownloadError, match="model.onnx is not in the downloaded model pack"):
        download_models(
            install_dir, ["m"], sources={"m": source_for(pack.as_uri(), member="model.onnx")}
        )

    assert os.listdir(install_dir) == []


def test_a_download_that_is_not_a_zip_is_an_error(served, install_dir):
    with pytest.raises(ModelDownloadError, match="not a zip file"):
        download_models(install_dir, ["m"], sources={"m": source_for(served, member="model.onnx")})

    assert os.listdir(install_dir) == []


def test_an_unreachable_url_is_an_error(tmp_path, install_dir):
    missing = (tmp_path / "nowhere.onnx").as_uri()

    with pytest.raises(ModelDownloadError, match="could not download"):
        download_models(install_dir, ["m"], sources={"m": source_for(missing)})

    assert os.listdir(install_dir) == []


def test_plain_http_is_refused(install_dir):
    with pytest.raises(ModelDownloadError, match="scheme 'http' is not allowed"):
        download_models(install_dir, ["m"], sources={"m": source_for("http://example.com/m.onnx")})


def test_a_verified_file_already_present_is_not_fetched_again(tmp_path, install_dir):
    (install_dir / "model.onnx").write_bytes(PAYLOAD)
    offline = source_for((tmp_path / "nowhere.onnx").as_uri())

    assert download_models(install_dir, ["m"], sources={"m": offline}) == [
        install_dir / "model.onnx"
    ]


def test_command_line_reports_an_unknown_name_before_touching_the_disk(tmp_path, capsys):
    target = tmp_path / "models"

    with pytest.raises(SystemExit) as exit_info:
        main([str(target), "blazeface"])

    assert exit_info.value.code == 1
    assert capsys.readouterr().err == (
        "error: unknown model 'blazeface'; choose one of: scrfd_500m, scrfd_2.5g, yunet, sface, "
        "mobilefacenet\n"
    )
    assert not target.exists()
