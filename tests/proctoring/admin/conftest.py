"""The admin tests' reviewer: staff in the reviewer group, assigned to `new_client` (a reviewer
sees the clients assigned to them only), logged in on the test client."""

import pytest
from django.contrib.auth.models import Group, User


@pytest.fixture
def reviewer(client, new_client) -> User:
    user = User.objects.create_user("rita", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="reviewer"))
    new_client.client.reviewers.add(user)
    client.force_login(user)
    return user
