"""The attempt review workflow: the list with its filters, the review page (timeline, evidence,
coverage, identity, verdicts), and the evidence files served to staff."""

import mimetypes
from dataclasses import dataclass

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from proctoring import review_pictures, score_bands
from proctoring.admin import audio_clips, dashboard, desk
from proctoring.admin.scoping import ClientScopedAdmin
from proctoring.exceptions import ProctoringError
from proctoring.http_ranges import ranged_file_response
from proctoring.models import (
    Attempt,
    AttemptAuditEntry,
    AttemptStatusChange,
    Evidence,
    EvidenceKind,
    ReviewVerdict,
    Violation,
    ViolationReview,
    ViolationVerdict,
)
from proctoring.selectors.evidence import attempt_evidence
from proctoring.selectors.identity import attempt_identity_summary
from proctoring.selectors.ids import path_pk
from proctoring.selectors.review_desk import (
    attempt_recording,
    attempt_recordings,
    dashboard_clients,
    desk_list_annotate,
    next_attempt_to_review,
    violation_audio_parts,
)
from proctoring.selectors.reviews import violation_reviews_by_violation
from proctoring.selectors.violations import ViolationWithEvidence, attempt_violations_with_evidence
from proctoring.services import reviews
from proctoring.statuses import ANALYSIS_TYPES, AttemptStatus, ViolationType

REVIEW_PERMISSION = "proctoring.review_attempt"
JPEG_HEAD_BYTES = 65536
LOOKUP_KEY_CHOICES_MAX = 50


class StatusChangeInline(admin.TabularInline):
    model = AttemptStatusChange
    extra = 0
    can_delete = False
    fields = ["at", "from_status", "to_status", "actor", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class AuditInline(admin.TabularInline):
    model = AttemptAuditEntry
    extra = 0
    can_delete = False
    fields = ["at", "action", "actor", "actor_label", "change", "comment"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="change")
    def change(self, obj) -> str:
        """before -> after in words, not the stored JSON."""
        keys = sorted(set(obj.before or {}) | set(obj.after or {}))
        return "; ".join(
            f"{key}: {(obj.before or {}).get(key, '—')} → {(obj.after or {}).get(key, '—')}"
            for key in keys
        )


class NeedsReviewFilter(admin.SimpleListFilter):
    """The evidence asks for a person (a low score, a second person, missing coverage, ...) and
    no verdict is given yet."""

    title = "needs review"
    parameter_name = "needs_review"

    def lookups(self, request, model_admin):
        return [("yes", "yes (reasons recorded, unreviewed)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(
                status=AttemptStatus.STOPPED, review_verdict=ReviewVerdict.UNREVIEWED
            ).exclude(review_reasons=[])
        return queryset


class LookupKeyFilter(admin.SimpleListFilter):
    title = "lookup key"
    parameter_name = "lookup_key"

    def lookups(self, request, model_admin):
        keys = (
            model_admin.get_queryset(request)
            .exclude(lookup_key="")
            .values_list("lookup_key", flat=True)
            .distinct()
            .order_by("lookup_key")[:LOOKUP_KEY_CHOICES_MAX]
        )
        return [(key, key) for key in keys]

    def queryset(self, request, queryset):
        return queryset.filter(lookup_key=self.value()) if self.value() else queryset


@admin.register(Attempt)
class AttemptAdmin(ClientScopedAdmin, admin.ModelAdmin):
    """The review desk (docs/review.md): worst score first, each row's figures in one query,
    bulk verdicts through the one transition, and a read-only attempt page (no raw JSON, no
    editable thresholds: re-scoring goes through the API)."""

    change_form_template = "admin/proctoring/attempt/change_form.html"
    change_list_template = "admin/proctoring/attempt/change_list.html"
    # Narrow columns, so the list fits 1280 px with the filters beside it (issue #19).
    list_display = [
        "candidate",
        "client_short",
        "score",
        "needs_review",
        "violations_by_type",
        "duration",
        "thumbnail",
    ]
    list_display_links = ["candidate"]
    list_filter = [
        NeedsReviewFilter,
        "review_verdict",
        "status",
        "evidence_status",
        "client",
        LookupKeyFilter,
    ]
    search_fields = ["test_attempt_id", "lookup_key", "user_details__name"]
    # Worst first; an unscored attempt is not "clean", it sorts with the worst.
    ordering = [F("trust_score").asc(nulls_first=True), "-created_at"]
    actions = ["verdict_cleared", "verdict_confirmed", "verdict_inconclusive"]
    list_per_page = 50
    # The page shows plain fields only; everything else is drawn by the review section.
    fields = [
        "client",
        "test_attempt_id",
        "status",
        "review_verdict",
        "reviewed_by",
        "reviewed_at",
        "created_at",
        "started_at",
        "finished_at",
        "trust_score",
        "score_version",
        "evidence_status",
        "lookup_key",
        "candidate_name",
        "monitored",
        "test_duration_min",
    ]
    readonly_fields = fields
    inlines = [StatusChangeInline, AuditInline]

    def get_queryset(self, request):
        return desk_list_annotate(super().get_queryset(request))

    def changelist_view(self, request, extra_context=None):
        # The admin's `o` parameter counts columns from 1 after the action checkbox.
        columns = ["action_checkbox", *self.list_display]
        order = f"{columns.index('needs_review')}.{columns.index('score')}"
        extra = {**(extra_context or {}), "needs_review_order": order}
        return super().changelist_view(request, extra_context=extra)

    # Status and verdict change only through their transition functions, never by hand here.
    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm(REVIEW_PERMISSION)

    @admin.display(description="candidate", ordering="lookup_key")
    def candidate(self, obj):
        return desk.candidate_cell(obj)

    @admin.display(description="client", ordering="client__name")
    def client_short(self, obj):
        return desk.client_cell(obj)

    @admin.display(description="score", ordering=F("trust_score").asc(nulls_first=True))
    def score(self, obj):
        return desk.score_cell(obj)

    @admin.display(description="needs review", ordering="-needs_review")
    def needs_review(self, obj):
        return desk.needs_review_cell(obj)

    @admin.display(description="violations")
    def violations_by_type(self, obj):
        return desk.counts_cell(obj)

    @admin.display(description="duration", ordering="started_at")
    def duration(self, obj):
        return desk.duration_cell(obj)

    @admin.display(description="photo")
    def thumbnail(self, obj):
        return desk.thumbnail_cell(obj)

    @admin.display(description="candidate name")
    def candidate_name(self, obj):
        return (obj.user_details or {}).get("name") or "—"

    @admin.display(description="monitored")
    def monitored(self, obj):
        tracking = (obj.options or {}).get("trackingOptions") or {}
        return ", ".join(name for name, on in sorted(tracking.items()) if on is True) or "—"

    def _bulk_verdict(self, request, queryset, verdict: str) -> None:
        """Each attempt through the one transition (each audited); refusals are counted."""
        done, refused = 0, []
        for attempt in queryset:
            try:
                reviews.attempt_review_transition(
                    attempt=attempt, to_verdict=verdict, reviewer=request.user, comment="bulk"
                )
                done += 1
            except ProctoringError as exc:
                refused.append(f"Not reviewed: {attempt.test_attempt_id} ({exc.message})")
        if done:
            messages.success(request, f"{done} attempt(s) set to {verdict}.")
        for line in refused:
            messages.error(request, line)

    @admin.action(description="Verdict: cleared", permissions=["review"])
    def verdict_cleared(self, request, queryset):
        self._bulk_verdict(request, queryset, ReviewVerdict.CLEARED)

    @admin.action(description="Verdict: confirmed", permissions=["review"])
    def verdict_confirmed(self, request, queryset):
        self._bulk_verdict(request, queryset, ReviewVerdict.CONFIRMED)

    @admin.action(description="Verdict: inconclusive", permissions=["review"])
    def verdict_inconclusive(self, request, queryset):
        self._bulk_verdict(request, queryset, ReviewVerdict.INCONCLUSIVE)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<str:object_id>/evidence/<int:evidence_id>/file/",
                wrap(self.evidence_file_view),
                name="proctoring_attempt_evidence_file",
            ),
            path(
                "<str:object_id>/review/",
                wrap(require_POST(self.review_view)),
                name="proctoring_attempt_review",
            ),
            path(
                "<str:object_id>/violations/<int:violation_id>/review/",
                wrap(require_POST(self.violation_review_view)),
                name="proctoring_attempt_violation_review",
            ),
            path(
                "<str:object_id>/violations/<int:violation_id>/audio/",
                wrap(self.violation_audio_view),
                name="proctoring_attempt_violation_audio",
            ),
            path(
                "<str:object_id>/recording/<uuid:session_id>/",
                wrap(self.recording_view),
                name="proctoring_attempt_recording",
            ),
            path("dashboard/", wrap(self.dashboard_view), name="proctoring_attempt_dashboard"),
        ] + super().get_urls()

    def _attempt(self, request, object_id) -> Attempt:
        """Looked up within what this reviewer may see (get_queryset), then the permission."""
        if not self.has_view_permission(request):
            raise PermissionDenied  # before the lookup: 403 without the permission, then 404
        queryset = super().get_queryset(request).select_related("client")
        attempt = get_object_or_404(queryset, pk=path_pk(object_id))
        if not self.has_view_permission(request, attempt):
            raise PermissionDenied
        return attempt

    def recording_view(self, request, object_id, session_id):
        """The session recording (recordSession) for staff who may see the attempt, with byte
        ranges so that the page's <video> can seek."""
        attempt = self._attempt(request, object_id)
        session = attempt_recording(attempt=attempt, session_id=session_id)
        if session is None or not session.recording.storage.exists(session.recording.name):
            raise Http404("no recording for this session")
        return ranged_file_response(request, session.recording)

    def violation_audio_view(self, request, object_id, violation_id):
        """The violation's audio as one WAV: its stored windows in order, capped at 30 s."""
        attempt = self._attempt(request, object_id)
        violation = get_object_or_404(Violation, pk=violation_id, attempt=attempt)
        parts = violation_audio_parts(violation=violation)
        if not parts:
            raise Http404("no audio for this violation")
        response = HttpResponse(audio_clips.joined_wav(parts), content_type="audio/wav")
        response["Cache-Control"] = "private, no-store"
        return response

    def dashboard_view(self, request):
        """Per client: attempts per day, scores, violations by type, detector precision."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        visible = super().get_queryset(request)
        clients = dashboard_clients(queryset=visible)
        chosen = next((c for c in clients if str(c.pk) == request.GET.get("client")), None)
        chosen = chosen or (clients[0] if clients else None)
        context = {
            **self.admin_site.each_context(request),
            "title": "Review dashboard",
            "opts": self.model._meta,
            "clients": clients,
            "chosen": chosen,
            **(dashboard.dashboard_context(chosen) if chosen else {}),
        }
        return TemplateResponse(request, "admin/proctoring/attempt/dashboard.html", context)

    def evidence_file_view(self, request, object_id, evidence_id):
        """Evidence for staff with view permission only; MEDIA_URL is never routed."""
        attempt = self._attempt(request, object_id)
        evidence = get_object_or_404(Evidence, pk=evidence_id, attempt=attempt)
        if not evidence.file.name or not evidence.file.storage.exists(evidence.file.name):
            raise Http404("evidence file is gone")
        content_type = mimetypes.guess_type(evidence.file.name)[0] or "application/octet-stream"
        response = FileResponse(evidence.file.open("rb"), content_type=content_type)
        response["Cache-Control"] = "private, no-store"
        return response

    def review_view(self, request, object_id):
        attempt = self._attempt(request, object_id)
        if not request.user.has_perm(REVIEW_PERMISSION):
            raise PermissionDenied
        try:
            reviews.attempt_review_transition(
                attempt=attempt,
                to_verdict=request.POST.get("verdict", ""),
                reviewer=request.user,
                comment=request.POST.get("comment", "")[:2000],
            )
            messages.success(request, f"Verdict recorded: {request.POST.get('verdict')}.")
        except ProctoringError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(_change_url(attempt))

    def violation_review_view(self, request, object_id, violation_id):
        attempt = self._attempt(request, object_id)
        if not request.user.has_perm(REVIEW_PERMISSION):
            raise PermissionDenied
        violation = get_object_or_404(Violation, pk=violation_id, attempt=attempt)
        verdict = request.POST.get("verdict", "")
        if verdict not in ViolationVerdict.values:
            messages.error(request, f"Unknown violation verdict '{verdict}'.")
        else:
            reviews.violation_review_set(
                violation=violation,
                verdict=verdict,
                reviewer=request.user,
                comment=request.POST.get("comment", "")[:2000],
            )
            messages.success(request, f"Violation {violation.pk} {verdict}.")
        return HttpResponseRedirect(f"{_change_url(attempt)}#violation-{violation.pk}")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        attempt = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if attempt is not None and self.has_view_permission(request, attempt):
            extra.update(review_context(request, attempt))
            following = next_attempt_to_review(
                attempt=attempt, queryset=super().get_queryset(request)
            )
            extra["next_url"] = _change_url(following) if following else ""
        return super().change_view(request, object_id, form_url, extra_context=extra)


def _change_url(attempt: Attempt) -> str:
    return reverse("admin:proctoring_attempt_change", args=[attempt.pk])


def _evidence_url(evidence: Evidence) -> str:
    return reverse(
        "admin:proctoring_attempt_evidence_file", args=[evidence.attempt_id, evidence.pk]
    )


def _photo_size(evidence: Evidence) -> tuple[int, int]:
    try:
        with evidence.file.open("rb") as handle:
            head = handle.read(JPEG_HEAD_BYTES)
    except OSError:
        return review_pictures.FALLBACK_SIZE
    return review_pictures.jpeg_size(head) or review_pictures.FALLBACK_SIZE


def _evidence_item(evidence: Evidence) -> dict:
    url = _evidence_url(evidence)
    item = {"evidence": evidence, "url": url, "clock": review_pictures.clock(evidence.at_s)}
    if evidence.kind in (
        EvidenceKind.PHOTO,
        EvidenceKind.RANDOM_PHOTO,
        EvidenceKind.SCREENSHOT,
        EvidenceKind.REFERENCE,
        EvidenceKind.ID_CARD,
    ):
        faces = (evidence.data or {}).get("faces") or []
        item["picture"] = mark_safe(  # noqa: S308 (built from escaped values)
            review_pictures.faces_overlay_svg(
                image_url=url, size=_photo_size(evidence), faces=faces
            )
        )
    return item


def _duration_s(attempt: Attempt, violations: list[Violation]) -> float:
    if attempt.started_at and attempt.finished_at:
        return (attempt.finished_at - attempt.started_at).total_seconds()
    if attempt.test_duration_min:
        return attempt.test_duration_min * 60.0
    return max((v.end_s for v in violations), default=0.0)


def _timeline(attempt: Attempt, violations: list[Violation], evidence: list[Evidence]) -> str:
    present = {v.type for v in violations}
    lanes = sorted(ANALYSIS_TYPES | present, key=lambda t: (t not in present, t))
    spans = [
        review_pictures.Span(
            v.type,
            v.start_s,
            v.end_s,
            f"{v.get_type_display()} {review_pictures.clock(v.start_s)}"
            f"–{review_pictures.clock(v.end_s)} ({v.duration_s:.1f} s)",
            key=str(v.pk),
        )
        for v in violations
    ]
    markers = [
        review_pictures.Span(e.type, e.at_s, e.at_s, f"{e.kind} at {review_pictures.clock(e.at_s)}")
        for e in evidence
        if e.type and not (e.data or {}).get("clip_part")  # one mark per clip, not per second
    ]
    return review_pictures.timeline_svg(
        spans=spans, markers=markers, duration_s=_duration_s(attempt, violations), lanes=lanes
    )


@dataclass(frozen=True)
class ReviewRow:
    """One line of the attempt page's violation table."""

    violation: Violation
    evidence: list[Evidence]
    review: ViolationReview | None
    clock: str
    # A different person (issue #18): the enrolled reference face and the live faces.
    reference_url: str = ""
    evidence_urls: tuple[str, ...] = ()


def _review_rows(
    attempt: Attempt, found: list[ViolationWithEvidence], reference_url: str
) -> list[ReviewRow]:
    reviewed = violation_reviews_by_violation(attempt=attempt)
    rows = []
    for item in found:
        different_person = item.violation.type == ViolationType.IMPERSONATION
        rows.append(
            ReviewRow(
                violation=item.violation,
                evidence=item.evidence,
                review=reviewed.get(item.violation.pk),
                clock=review_pictures.clock(item.violation.start_s),
                reference_url=reference_url if different_person else "",
                evidence_urls=tuple(_evidence_url(e) for e in item.evidence)
                if different_person
                else (),
            )
        )
    return rows


def _identity_context(attempt: Attempt) -> dict:
    """The identity check's result for the page: references, verdicts, ID card tries."""
    summary = attempt_identity_summary(attempt=attempt)
    if summary is None:
        return {"identity": None, "identity_reference_url": ""}
    references = [_evidence_url(e) for e in summary.reference_evidence]
    urls = {e.pk: _evidence_url(e) for e in attempt_evidence(attempt=attempt)}
    card_rows = [
        {
            **check,
            "card_url": urls.get(check["card_evidence_id"], ""),
            "face_url": urls.get(check["face_evidence_id"], ""),
        }
        for check in summary.id_card["checks"]
    ]
    return {
        "identity": summary,
        "identity_reference_urls": references,
        "identity_reference_url": references[0] if references else "",
        "id_card_rows": card_rows,
    }


def _coverage_rows(attempt: Attempt) -> list[dict]:
    rows = []
    for stream, row in (attempt.coverage or {}).items():
        ratio = min(max(float(row.get("ratio", 0.0)), 0.0), 1.0)
        rows.append(
            {
                **row,
                "stream": stream,
                "percent": round(100 * ratio, 1),
                "bar_class": f"w{round(ratio * 10)}",
                "low": bool(row.get("required")) and ratio < settings.PROCTOR_MIN_COVERAGE,
            }
        )
    return rows


def review_context(request, attempt: Attempt) -> dict:
    """What the attempt page shows a reviewer: timeline, evidence grouped by violation, the
    recording, coverage, the breakdown in words, verdict buttons. Queries do not grow with the
    number of violations or evidence files (test_desk_queries.py)."""
    found = attempt_violations_with_evidence(attempt=attempt)
    violations = [item.violation for item in found]
    evidence = list(attempt_evidence(attempt=attempt))
    allowed = reviews.REVIEW_TRANSITIONS.get(attempt.review_verdict, frozenset())
    can_review = request.user.has_perm(REVIEW_PERMISSION)
    identity = _identity_context(attempt)
    items = [_evidence_item(e) for e in evidence]
    rows = _review_rows(attempt, found, identity["identity_reference_url"])
    return {
        **identity,
        "timeline_svg": mark_safe(_timeline(attempt, violations, evidence)),  # noqa: S308
        "evidence_items": items,
        "evidence_groups": desk.evidence_groups(rows, {i["evidence"].pk: i for i in items}),
        "other_evidence": desk.ungrouped_evidence(found, items),
        "recordings": desk.recordings(attempt, attempt_recordings(attempt=attempt)),
        "audio_clip_cap_s": desk.AUDIO_CLIP_CAP_S,
        "review_violations": rows,
        "coverage_rows": _coverage_rows(attempt),
        "breakdown_rows": desk.breakdown_rows(attempt.score_breakdown or {}),
        "score_band": score_bands.score_band(attempt),
        "review_reason_labels": score_bands.reason_labels(attempt),
        "verdict_choices": [c for c in ReviewVerdict.choices if c[0] in allowed],
        "can_review": can_review and attempt.status == AttemptStatus.STOPPED,
        "review_threshold": settings.PROCTOR_REVIEW_THRESHOLD,
        "duration_text": desk.duration_text(desk.attempt_duration_s(attempt)),
    }
