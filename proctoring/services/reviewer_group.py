"""The "reviewer" group: staff who can see attempts, violations and evidence and judge them.

Migration 0004 created it once; it is also made whole again after every migrate (a post_migrate
handler), so a database that was flushed (test isolation, `manage.py flush`) or a group someone
emptied by mistake gets its permissions back. The migration keeps its own frozen copy of the list,
as migrations must."""

from django.contrib.auth.models import Group, Permission

REVIEWER_GROUP = "reviewer"
REVIEWER_PERMISSIONS = (
    "view_attempt",
    "view_violation",
    "view_evidence",
    "view_attemptauditentry",
    "view_attemptstatuschange",
    "view_violationreview",
    "review_attempt",
)


def reviewer_group_ensure(**_signal_kwargs) -> Group:
    """Create the group if missing and give it the reviewer permissions (idempotent)."""
    group, _ = Group.objects.get_or_create(name=REVIEWER_GROUP)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="proctoring", codename__in=REVIEWER_PERMISSIONS
        )
    )
    return group
