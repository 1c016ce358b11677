import datetime as dt
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
# The fixture day's first second: 2026-11-17 09:00 in the center's zone.
T0 = dt.datetime(2026, 11, 17, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def queue_log_source(db):
    from hotline.calls import services

    return services.create_source(name="asterisk-1", kind="asterisk_queue_log")


@pytest.fixture
def http_source(db):
    from hotline.calls import services

    return services.create_source(name="acd-1", kind="http")
