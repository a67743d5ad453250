"""The reviewer group is made whole again after every migrate, so a flushed database (the
transactional browser tests, `manage.py flush`) still has it."""

import pytest
from django.contrib.auth.models import Group
from django.core.management.sql import emit_post_migrate_signal

from proctoring.services.reviewer_group import REVIEWER_GROUP, REVIEWER_PERMISSIONS

pytestmark = pytest.mark.django_db


def test_post_migrate_makes_the_reviewer_group_again_with_its_permissions():
    Group.objects.filter(name=REVIEWER_GROUP).delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    group = Group.objects.get(name=REVIEWER_GROUP)
    assert set(group.permissions.values_list("codename", flat=True)) == set(REVIEWER_PERMISSIONS)


def test_a_group_emptied_by_mistake_gets_its_permissions_back():
    Group.objects.get(name=REVIEWER_GROUP).permissions.clear()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert Group.objects.get(name=REVIEWER_GROUP).permissions.count() == len(REVIEWER_PERMISSIONS)
