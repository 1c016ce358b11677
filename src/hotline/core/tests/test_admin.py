import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db


def test_every_admin_changelist_renders(world):
    c = Client()
    assert c.login(username=world.admin.username, password=PASSWORD)
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        r = c.get(url)
        assert r.status_code == 200, url


def test_published_policy_is_read_only_in_admin(world):
    from hotline.catalog.models import PolicyVersion

    c = Client()
    c.login(username=world.admin.username, password=PASSWORD)
    v = PolicyVersion.objects.get(number=1)
    r = c.get(reverse("admin:catalog_policyversion_change", args=[v.pk]))
    assert r.status_code == 200
    assert b'name="rules-0-amount"' not in r.content


def test_non_staff_cannot_open_admin(world):
    c = Client()
    c.login(username=world.agent.username, password=PASSWORD)
    assert c.get("/admin/").status_code == 302


def test_ui_is_chinese_by_default_even_for_an_english_browser(world):
    c = Client(headers={"Accept-Language": "en-US,en;q=0.9"})
    r = c.get("/login/")
    assert r.headers["Content-Language"] == "zh-hans"
    c.cookies["django_language"] = "en"
    assert c.get("/login/").headers["Content-Language"] == "en"
