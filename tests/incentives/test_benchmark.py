"""The benchmark command runs end to end on a small program and leaves nothing behind."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from prm.models import Tenant

pytestmark = pytest.mark.django_db


def test_the_benchmark_times_the_evaluation_and_removes_its_tenant():
    out = StringIO()
    call_command("tiers_benchmark", "--partners", "40", "--deals", "400", stdout=out, stderr=StringIO())
    assert "partners evaluated:   40" in out.getvalue()
    assert "evaluation time:" in out.getvalue()
    assert not Tenant.objects.filter(slug__startswith="tierbench-").exists()


def test_the_benchmark_refuses_nonsense_sizes():
    with pytest.raises(CommandError, match="--partners must be at least 1"):
        call_command("tiers_benchmark", "--partners", "0")
