import io

import pytest
from django.core.management import CommandError, call_command

from hotline.demo import builder
from hotline.organisation.models import Customer, Unit, User
from hotline.workorders.models import WorkOrder


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def test_if_empty_builds_once_then_does_nothing(db):
    output = run("--customers", "40", "--days", "0", "--if-empty", "--quiet")
    assert builder.URL in output and builder.PASSWORD in output and "agent01" in output
    counts = (Unit.objects.count(), User.objects.count(), Customer.objects.count(), WorkOrder.objects.count())
    assert counts[0] > 0 and counts[2] == 40
    assert run("--customers", "40", "--if-empty", "--quiet") == ""
    assert (Unit.objects.count(), User.objects.count(), Customer.objects.count(), WorkOrder.objects.count()) == counts


def test_refuses_a_database_that_already_has_an_organisation(db):
    run("--customers", "10", "--days", "0", "--quiet")
    with pytest.raises(CommandError):
        run("--customers", "10", "--days", "0")
