"""Measure detector accuracy on a labelled folder: `python manage.py evaluate_detectors DIR`."""

import json
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from proctoring.analysis import devaudio, evaluate, evaluate_audio, vision
from proctoring.analysis.errors import AnalysisError
from proctoring.analysis.identity import devset
from proctoring.analysis.identity import evaluate as evaluate_identity
from proctoring.analysis.models import EMBEDDER_NAMES

NOT_APPLICABLE = "n/a"
COLUMN_GAP = "  "
COUNT_HEADER = (
    "detector",
    "condition",
    "n",
    "accuracy",
    "no-face P",
    "no-face R",
    "multi P",
    "multi R",
    "mean ms",
    "p95 ms",
)
VAD_HEADER = ("mode", "n", "accuracy", "speech P", "speech R", "mean ms", "p95 ms")
WINDOW_HEADER = (
    "mode",
    "speech→speech",
    "speech→none",
    "none→speech",
    "none→none",
    "recall",
    "false/hour",
)
CATEGORY_HEADER = (
    "mode",
    "category",
    "clips",
    "speech windows found",
    "false windows",
    "false/hour",
    "words found",
)
JSON_INDENT = 2
IDENTITY_HEADER = ("model", "detector", "pairs", "genuine", "impostor", "FAR", "FRR", "threshold")
ROC_HEADER = ("model", "threshold", "FAR", "false accepts", "FRR", "false rejects")
CONDITION_HEADER = (
    "model",
    "condition",
    "genuine min",
    "genuine median",
    "impostor max",
    "genuine→different",
    "genuine→uncertain",
    "impostor→different",
    "impostor→same",
)


class Command(BaseCommand):
    help = (
        "Run the human counters and the VAD on a labelled folder laid out like shared/media "
        "(DIR/expected.json) and print accuracy, precision, recall and time per item."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path, help="folder holding expected.json")
        parser.add_argument(
            "--detector",
            action="append",
            dest="detectors",
            choices=vision.COUNTER_NAMES,
            help="repeat to pick several (default: all)",
        )
        parser.add_argument("--y4m-step", type=int, default=1, help="use every N-th video frame")
        parser.add_argument(
            "--augment",
            action="store_true",
            help="also score perturbed images and small-background-person composites",
        )
        parser.add_argument("--json", type=Path, dest="json_path", help="write the results here")
        parser.add_argument("--model-dir", type=Path, help="default: settings.PROCTOR_MODEL_DIR")
        parser.add_argument(
            "--input",
            action="append",
            dest="inputs",
            metavar="WxH",
            help="main input size of the detectors; repeat for several "
            "(default: settings.PROCTOR_DETECTOR_INPUT)",
        )
        parser.add_argument(
            "--all-profiles",
            action="store_true",
            help=f"every input profile: {', '.join(vision.INPUT_PROFILES)}",
        )
        parser.add_argument(
            "--dev-audio",
            type=Path,
            default=devaudio.DEFAULT_DIR,
            help="where the generated development audio set is kept (made if missing; needs "
            "espeak-ng and sox)",
        )
        parser.add_argument(
            "--no-dev-audio", action="store_true", help="only the clips labelled in DIR"
        )
        parser.add_argument(
            "--embedder",
            action="append",
            dest="embedders",
            choices=EMBEDDER_NAMES,
            help="identity: the face embedding models to measure (default: all)",
        )
        parser.add_argument(
            "--no-identity", action="store_true", help="leave out the identity section"
        )

    def handle(self, *args, **options) -> None:
        try:
            dev_audio = None if options["no_dev_audio"] else devaudio.ensure(options["dev_audio"])
            evaluation = evaluate.evaluate_directory(
                options["directory"],
                detectors=options["detectors"] or vision.COUNTER_NAMES,
                model_dir=options["model_dir"] or settings.PROCTOR_MODEL_DIR,
                y4m_step=options["y4m_step"],
                augment=options["augment"],
                inputs=_inputs(options),
                dev_audio=dev_audio,
            )
            identities = [] if options["no_identity"] else _identities(options)
        except AnalysisError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(format_evaluation(evaluation))
        if identities:
            self.stdout.write(format_identity(identities))
        elif not options["no_identity"]:
            missing = ", ".join(devset.missing_sources(options["directory"]))
            self.stdout.write(f"Note: no identity section: {missing} not in the folder\n")
        if options["json_path"]:
            _write_json(evaluation, options["json_path"], identities)


def _identities(options: dict) -> list[evaluate_identity.IdentityEvaluation]:
    """The identity section: each embedding model behind the first detector asked for; none
    when the folder lacks the shared media the development set is made from."""
    if devset.missing_sources(options["directory"]):
        return []
    detector = (options["detectors"] or [settings.PROCTOR_DETECTOR])[0]
    return [
        evaluate_identity.evaluate_identity(
            options["directory"],
            model_dir=options["model_dir"] or settings.PROCTOR_MODEL_DIR,
            detector=detector,
            embedder=embedder,
            main_input=_inputs(options)[0],
        )
        for embedder in options["embedders"] or EMBEDDER_NAMES
    ]


def format_identity(reports: Sequence[evaluate_identity.IdentityEvaluation]) -> str:
    """Genuine and impostor pairs: FAR/FRR at each model's threshold, a ROC table, and where
    each condition puts the verdicts."""
    summary, roc, conditions = [], [], []
    for report in reports:
        for label, target in (("frontal >= 80 px", True), ("all probes", False)):
            rates = report.rates(target_only=target)
            summary.append(
                [
                    report.model,
                    report.detector,
                    label,
                    str(rates["genuine"]),
                    str(rates["impostor"]),
                    _rate(rates["far"], rates["false_accepts"]),
                    _rate(rates["frr"], rates["false_rejects"]),
                    f"{rates['threshold']:.3f}",
                ]
            )
        for rates in report.roc():
            roc.append(
                [
                    report.model,
                    f"{rates['threshold']:.2f}",
                    _percent(rates["far"]),
                    str(rates["false_accepts"]),
                    _percent(rates["frr"]),
                    str(rates["false_rejects"]),
                ]
            )
        conditions += [_condition_row(report.model, row) for row in report.by_condition()]
    notes = [
        f"  {r.model}: {len(r.people)} people, {sum(r.enrolled.values())} references, "
        f"landmarks {r.landmark_ms:.1f} ms, embedding {r.embed_ms:.1f} ms a face (process CPU, "
        f"median); no single face found or embedded: {', '.join(r.unprobed) or 'none'}"
        for r in reports
    ]
    sections = [
        "Identity (genuine = same person, impostor = two people; FAR = impostor pairs at or over "
        "the match threshold, FRR = genuine pairs under it; every variant of a person comes from "
        "one photo, so FRR is a lower bound)",
        _table(IDENTITY_HEADER, summary, text_columns=3),
        "ROC (frontal faces at least 80 px wide)",
        _table(ROC_HEADER, roc, text_columns=1),
        "Verdicts per condition (different = under the mismatch threshold, a violation's frame; "
        "same = at or over the match threshold)",
        _table(CONDITION_HEADER, conditions, text_columns=2),
        "\n".join(["Identity notes:", *notes]),
    ]
    return "\n\n".join(sections) + "\n"


def _condition_row(model: str, row: dict) -> list[str]:
    return [
        model,
        row["condition"],
        _number(row["genuine_min"]),
        _number(row["genuine_median"]),
        _number(row["impostor_max"]),
        f"{row['genuine_mismatch']}/{row['genuine']}",
        f"{row['genuine_uncertain']}/{row['genuine']}",
        f"{row['impostor_mismatch']}/{row['impostor']}",
        f"{row['impostor_match']}/{row['impostor']}",
    ]


def _rate(value: float | None, count: int) -> str:
    return NOT_APPLICABLE if value is None else f"{value:.2%} ({count})"


def _number(value: float | None) -> str:
    return NOT_APPLICABLE if value is None else f"{value:.3f}"


def _inputs(options: dict) -> list[tuple[int, int] | None]:
    """The main input sizes asked for: all profiles, --input, or the deployment's setting."""
    if options["all_profiles"]:
        texts = list(vision.INPUT_PROFILES)
    else:
        texts = options["inputs"] or [settings.PROCTOR_DETECTOR_INPUT]
    return [vision.parse_input_size(text) for text in texts]


def format_evaluation(evaluation: evaluate.Evaluation) -> str:
    """The report as plain-text tables, each followed by its misses."""
    sections = [f"Labelled folder: {evaluation.directory}"]
    if evaluation.counting:
        sections += [
            "Human counting (item = image or labelled video frame; P/R = precision/recall; "
            "time = detect() only)",
            _table(COUNT_HEADER, [_count_row(r) for r in evaluation.counting], text_columns=2),
            _count_misses(evaluation.counting),
        ]
    if evaluation.vad:
        sections += [
            "Voice activity per clip (Silero VAD + is_speech on the ingest's 1 s windows; a clip "
            "is speech if any window is; time = all windows of the clip)",
            _table(VAD_HEADER, [_vad_row(r) for r in evaluation.vad], text_columns=1),
            _vad_misses(evaluation.vad),
            "Voice activity per 1 s window (label→verdict; a window holding some words but "
            f"under {evaluate_audio.MIN_SPEECH_IN_WINDOW_S:g} s of them is not scored; "
            "false/hour = false speech windows per hour of non-speech audio)",
            _table(WINDOW_HEADER, [_window_row(r) for r in evaluation.vad], text_columns=1),
            "Voice activity per category (words found = stretches of words with a window over "
            "them judged speech)",
            _table(CATEGORY_HEADER, _category_rows(evaluation.vad), text_columns=2),
        ]
    sections += [f"Note: {note}" for note in evaluation.notes]
    return "\n\n".join(sections) + "\n"


def _count_row(report: evaluate.CountReport) -> list[str]:
    return [
        report.detector,
        report.condition,
        str(len(report.results)),
        _percent(report.accuracy),
        _percent(report.no_face.precision),
        _percent(report.no_face.recall),
        _percent(report.multiple.precision),
        _percent(report.multiple.recall),
        _ms(report.mean_ms),
        _ms(report.p95_ms),
    ]


def _vad_row(report: evaluate.VadReport) -> list[str]:
    return [
        report.mode,
        str(len(report.results)),
        _percent(report.accuracy),
        _percent(report.speech.precision),
        _percent(report.speech.recall),
        _ms(report.mean_ms),
        _ms(report.p95_ms),
    ]


def _window_row(report: evaluate.VadReport) -> list[str]:
    score = report.windows()
    return [
        report.mode,
        str(score.speech_found),
        str(score.speech_missed),
        str(score.false_speech),
        str(score.quiet),
        _percent(score.recall),
        _per_hour(score.false_per_hour),
    ]


def _category_rows(reports: Sequence[evaluate.VadReport]) -> list[list[str]]:
    rows = []
    for report in reports:
        for category in report.categories():
            score = report.windows(category)
            found, words = report.utterances(category)
            clips = sum(result.category == category for result in report.results)
            positives = score.speech_found + score.speech_missed
            negatives = score.false_speech + score.quiet
            rows.append(
                [
                    report.mode,
                    category,
                    str(clips),
                    f"{score.speech_found}/{positives}" if positives else NOT_APPLICABLE,
                    f"{score.false_speech}/{negatives}" if negatives else NOT_APPLICABLE,
                    _per_hour(score.false_per_hour),
                    f"{found}/{words}" if words else NOT_APPLICABLE,
                ]
            )
    return rows


def _count_misses(reports: Sequence[evaluate.CountReport]) -> str:
    lines = [
        f"  {report.detector} {report.condition}: "
        + ", ".join(
            f"{miss.item} {miss.counted} (want {miss.expected})" for miss in report.failures
        )
        for report in reports
        if report.failures
    ]
    return "\n".join(["Miscounts:", *lines]) if lines else "Miscounts: none"


def _vad_misses(reports: Sequence[evaluate.VadReport]) -> str:
    lines = [
        f"  {report.mode}: "
        + ", ".join(f"{miss.item} said {_yes_no(miss.predicted)}" for miss in report.failures)
        for report in reports
        if report.failures
    ]
    return "\n".join(["VAD misses:", *lines]) if lines else "VAD misses: none"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, text_columns: int) -> str:
    """Aligned columns: the first `text_columns` to the left, the numbers after them right."""
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.ljust(width) if column < text_columns else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append(COLUMN_GAP.join(cells).rstrip())
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return NOT_APPLICABLE if value is None else f"{value:.1%}"


def _per_hour(value: float | None) -> str:
    return NOT_APPLICABLE if value is None else f"{value:.0f}"


def _ms(value: float | None) -> str:
    return NOT_APPLICABLE if value is None else f"{value:.1f}"


def _yes_no(value: bool) -> str:
    return "speech" if value else "no speech"


def _write_json(
    evaluation: evaluate.Evaluation,
    path: Path,
    identities: Sequence[evaluate_identity.IdentityEvaluation] = (),
) -> None:
    body = {**evaluation.to_dict(), "identity": [report.to_dict() for report in identities]}
    try:
        path.write_text(json.dumps(body, indent=JSON_INDENT, default=str) + "\n")
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error}") from error
