"""Admin hardening (issue #22, finding 10): reviewers assigned per client, and audit rows that
outlive their attempt (they name the attempt and its client in fields of their own)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


AUDIT_MODELS = ("AttemptAuditEntry", "AttemptStatusChange", "ViolationReview")


def name_the_attempts(apps, schema_editor):
    """Existing audit rows get the attempt's id and client, as new ones do when saved."""
    for model_name in AUDIT_MODELS:
        model = apps.get_model("proctoring", model_name)
        rows = model.objects.filter(attempt__isnull=False).select_related("attempt__client")
        for row in rows.iterator():
            client = row.attempt.client
            row.test_attempt_id = row.attempt.test_attempt_id
            row.client_id = client.pk
            row.client_name = f"{client.name} ({client.client_id})"
            row.save(update_fields=["test_attempt_id", "client", "client_name"])


class Migration(migrations.Migration):
    dependencies = [
        ("proctoring", "0010_rescore_event"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="attemptauditentry",
            name="client",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="proctoring.client",
            ),
        ),
        migrations.AddField(
            model_name="attemptauditentry",
            name="client_name",
            field=models.CharField(blank=True, default="", editable=False, max_length=300),
        ),
        migrations.AddField(
            model_name="attemptauditentry",
            name="test_attempt_id",
            field=models.CharField(blank=True, default="", editable=False, max_length=40),
        ),
        migrations.AddField(
            model_name="attemptstatuschange",
            name="client",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="proctoring.client",
            ),
        ),
        migrations.AddField(
            model_name="attemptstatuschange",
            name="client_name",
            field=models.CharField(blank=True, default="", editable=False, max_length=300),
        ),
        migrations.AddField(
            model_name="attemptstatuschange",
            name="test_attempt_id",
            field=models.CharField(blank=True, default="", editable=False, max_length=40),
        ),
        migrations.AddField(
            model_name="client",
            name="reviewers",
            field=models.ManyToManyField(
                blank=True, related_name="assigned_clients", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="violationreview",
            name="client",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="proctoring.client",
            ),
        ),
        migrations.AddField(
            model_name="violationreview",
            name="client_name",
            field=models.CharField(blank=True, default="", editable=False, max_length=300),
        ),
        migrations.AddField(
            model_name="violationreview",
            name="test_attempt_id",
            field=models.CharField(blank=True, default="", editable=False, max_length=40),
        ),
        migrations.AlterField(
            model_name="attemptauditentry",
            name="attempt",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="audit_entries",
                to="proctoring.attempt",
            ),
        ),
        migrations.AlterField(
            model_name="attemptstatuschange",
            name="attempt",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="status_changes",
                to="proctoring.attempt",
            ),
        ),
        migrations.AlterField(
            model_name="violationreview",
            name="attempt",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="violation_reviews",
                to="proctoring.attempt",
            ),
        ),
        migrations.RunPython(name_the_attempts, migrations.RunPython.noop),
    ]
