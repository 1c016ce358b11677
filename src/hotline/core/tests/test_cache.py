import pytest
from django.db import connection

from hotline.catalog import selectors as catalog_selectors
from hotline.catalog.models import BusinessType
from hotline.core import cache
from hotline.core.models import ConfigGeneration
from hotline.organisation.services import issue_api_token, user_for_token

pytestmark = pytest.mark.django_db


def _generation() -> int:
    return ConfigGeneration.objects.get(pk=1).value


def _edit_in_another_process(code: str, name: str) -> None:
    """What another process's admin edit leaves in the database: the row
    changed and the generation bumped, but nothing said to this process."""
    BusinessType.objects.filter(code=code).update(name=name)  # no signal here
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_configgeneration SET value = value + 1 WHERE id = 1")


def test_an_edit_in_another_process_is_seen_after_the_check_interval(world, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])
    assert catalog_selectors.business_type("repair").name == "故障报修"
    _edit_in_another_process("repair", "报修（改）")
    # Within the check interval the cached entry still answers…
    now[0] += cache.CHECK_SECONDS / 2
    assert catalog_selectors.business_type("repair").name == "故障报修"
    # …and after it the generation has moved, so the entry is reloaded.
    now[0] += cache.CHECK_SECONDS
    assert catalog_selectors.business_type("repair").name == "报修（改）"


def test_entries_expire_even_without_a_generation_bump(world, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])
    assert catalog_selectors.business_type("repair").name == "故障报修"
    BusinessType.objects.filter(code="repair").update(name="直接改库")
    now[0] += cache.TTL_SECONDS + 1
    assert catalog_selectors.business_type("repair").name == "直接改库"


def test_configuration_saves_bump_the_generation_but_a_login_does_not(world):
    before = _generation()
    bt = BusinessType.objects.get(code="praise")
    bt.name = "表扬（新）"
    bt.save()
    assert _generation() == before + 1
    world.agent.save(update_fields=["last_login"])
    assert _generation() == before + 1
    world.agent.is_active = False
    world.agent.save()
    assert _generation() == before + 2


def test_a_revoked_token_or_deactivated_user_stops_working(world):
    token, key = issue_api_token(user=world.agent, name="t")
    first = user_for_token(key)
    assert first.pk == world.agent.pk
    # Each caller gets its own copy: changing one does not change the cache.
    first.display_name = "changed"
    assert user_for_token(key).display_name != "changed"
    token.revoked = True
    token.save()
    assert user_for_token(key) is None
    _, key2 = issue_api_token(user=world.agent, name="t2")
    assert user_for_token(key2) is not None
    world.agent.is_active = False
    world.agent.save()
    assert user_for_token(key2) is None


def test_a_value_loaded_across_a_generation_change_is_not_kept(world):
    from hotline.core import cache as c

    c.get("warm", lambda: 1)  # the generation is known now
    def load():
        # While this loads, another thread sees a new generation.
        with c._lock:
            c._entries.clear()
            c._seen["generation"] = (c._seen["generation"] or 0) + 1000
        return "old"

    assert c.get("k", load) == "old"
    assert c.get("k", lambda: "new") == "new"
