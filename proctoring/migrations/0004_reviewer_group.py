"""The "reviewer" group: staff who can see attempts, violations and evidence and judge them."""

from django.db import migrations

REVIEWER_GROUP = "reviewer"
REVIEWER_PERMISSIONS = [
    "view_attempt",
    "view_violation",
    "view_evidence",
    "view_attemptauditentry",
    "view_attemptstatuschange",
    "view_violationreview",
    "review_attempt",
]


def create_reviewer_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; this one needs them now.
    app_config = apps.get_app_config("proctoring")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=REVIEWER_GROUP)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="proctoring", codename__in=REVIEWER_PERMISSIONS
        )
    )


def remove_reviewer_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=REVIEWER_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("proctoring", "0003_review_webhooks_retention"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_reviewer_group, remove_reviewer_group)]
