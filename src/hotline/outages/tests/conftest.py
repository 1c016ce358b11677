import pytest

from hotline.organisation import services as org
from hotline.organisation.models import Role
from hotline.testing import PASSWORD


@pytest.fixture
def desk(world):
    """A dispatcher at the county's dispatch desk: publishes production outages county-wide."""
    return org.create_user(username="t-desk", password=PASSWORD, role=Role.UNIT_STAFF, unit=world.desk,
                           display_name="调度员")


@pytest.fixture
def town1_t(world):
    """A transformer area in 东山乡 (the world has none there)."""
    return org.create_service_area(name="桃园1号台区", code="t-a1t", level="transformer_area", unit=world.stations[1],
                                   parent=world.areas["v1"])


@pytest.fixture
def neighbour_t(world):
    """A transformer area beside 南街1号台区 in the same village."""
    return org.create_service_area(name="南街2号台区", code="t-a0t2", level="transformer_area",
                                   unit=world.stations[0], parent=world.areas["v0"])
