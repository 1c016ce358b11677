"""Record times of the organisation come from the injectable clock
(``hotline.core.clock``), not the wall clock: a frozen or simulated time
(tests, the demo's history, a replay) is the time recorded."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hotline.core import clock
from hotline.organisation import services
from hotline.organisation.models import MarkedNumber, SpecialMark

pytestmark = pytest.mark.django_db
# Far from the wall clock: a default of the wall clock cannot pass.
WHEN = dt.datetime(2019, 3, 4, 5, 6, 7, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_a_customer_an_api_token_and_a_marked_number_are_created_at_the_clocks_time(world):
    with clock.frozen(WHEN):
        customer = services.create_customer(account_number="9900000001", name="钱七", address="城关镇解放路1号",
                                            phone_numbers=["13900001234"])
        token, _key = services.issue_api_token(user=world.admin, name="接口")
        marked = MarkedNumber.objects.create(number="13900005678", mark=SpecialMark.MALICIOUS, note="测试")
    for record in (customer, token, marked):
        record.refresh_from_db()
        assert record.created_at == WHEN, type(record).__name__
