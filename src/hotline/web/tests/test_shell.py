"""The shell: home, log-in page, top bar, language, and the navigation the
apps register (web.nav)."""

import re

import pytest
from django.urls import reverse

from hotline.organisation.services import create_user
from hotline.testing import PASSWORD
from hotline.web import nav
from hotline.workorders import services

pytestmark = pytest.mark.django_db

# What base.html showed each role before the apps registered their entries,
# plus the calendar pages for administrators.
NAV_BY_ROLE = {
    "agent": ["intake", "desk", "my-orders", "search", "outages"],
    "leader": ["intake", "my-orders", "search", "board", "wallboard", "daily-report", "planning", "outages"],
    "director": ["intake", "my-orders", "search", "board", "wallboard", "daily-report", "planning", "outages"],
    "station": ["inbox", "outages"],
    # Administrators are superusers: every entry.
    "admin": ["intake", "desk", "my-orders", "search", "board", "wallboard", "daily-report", "planning", "inbox", "outages", "calendars", "admin"],
}


def users(world):
    return {"agent": world.agent, "leader": world.leader, "director": world.director,
            "station": world.station_users[0], "admin": world.admin}


def nav_links(html: str) -> list[tuple[str, str]]:
    """(key, href) of the main navigation's links, in order."""
    bar = re.search(r'<nav class="mainnav".*?</nav>', html, re.S).group(0)
    return [(key, href) for href, key in re.findall(r'<a href="([^"]*)"[^>]*data-nav="([^"]+)"', bar)]


@pytest.mark.parametrize("who, target", [
    ("agent", "/intake/"), ("leader", "/board/"), ("director", "/board/"), ("station", "/inbox/"), ("admin", "/admin/"),
])
def test_home_sends_each_role_to_its_workspace(world, login, who, target):
    response = login(users(world)[who]).get("/")
    assert response.status_code == 302 and response["Location"] == target


def test_home_needs_a_login(client, world):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", ["expert", "inspector"])
def test_experts_and_inspectors_start_from_the_orders_of_their_scope(world, login, role):
    # Issue 11 item 9: a useful landing page until their own work pages exist.
    user = create_user(username=f"t-{role}", password=PASSWORD, role=role, unit=world.center)
    client = login(user)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/orders/search/"
    page = client.get("/orders/search/")
    assert page.status_code == 200 and "/orders/search/" in dict(nav_links(page.content.decode())).values()


def test_a_role_without_a_workspace_gets_the_home_page(world, login, monkeypatch):
    from hotline.web import nav

    # A role no app registered a home for (every role has one today).
    monkeypatch.delitem(nav._homes, "expert")
    user = create_user(username="t-expert", password=PASSWORD, role="expert", unit=world.center)
    response = login(user).get("/")
    html = response.content.decode()
    assert response.status_code == 200 and "t-expert" in html


@pytest.mark.parametrize("who", NAV_BY_ROLE)
def test_each_role_sees_exactly_its_nav_entries_and_may_open_them(world, login, who):
    client = login(users(world)[who])
    # Each role's workspace (Django's admin, an administrator's, has its own templates).
    html = client.get("/calendars/" if who == "admin" else client.get("/")["Location"]).content.decode()
    links = nav_links(html)
    assert [key for key, _ in links] == NAV_BY_ROLE[who]
    for key, href in links:
        assert client.get(href).status_code == 200, (who, key, href)


def active_entries(html: str) -> list[str]:
    bar = re.search(r'<nav class="mainnav".*?</nav>', html, re.S).group(0)
    return re.findall(r'class="active" data-nav="([^"]+)"', bar)


def test_the_current_page_entry_is_marked_active(world, login):
    order = services.create_order(actor=world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["zhang"].id,
        caller_phone="13812345678", fault_scope="company"))
    client = login(world.leader)
    for url, active in [("/intake/", ["intake"]), ("/orders/", ["my-orders"]), ("/board/", ["board"]),
                        ("/planning/", ["planning"]), ("/planning/what-if/", ["planning"]),
                        # An order is no entry's page.
                        (f"/orders/{order.number}/", [])]:
        assert active_entries(client.get(url).content.decode()) == active, url
    assert active_entries(login(world.station_users[0]).get("/inbox/").content.decode()) == ["inbox"]
    assert active_entries(login(world.admin).get("/calendars/").content.decode()) == ["calendars"]


def test_nav_labels_in_the_users_language(world, login):
    client = login(world.leader)
    html = client.get("/board/").content.decode()
    assert [label for label in ["受理", "我的工单", "督办看板", "排班规划"] if label not in html] == []
    client.cookies["django_language"] = "en"
    html = client.get("/board/").content.decode()
    assert all(label in html for label in ["Intake", "My orders", "Supervision board", "Planning"])


def test_registering_again_replaces_the_entry():
    before = [e.key for e in nav.entries()]
    entry = next(e for e in nav.entries() if e.key == "board")
    nav.register(entry.key, entry.label, entry.url_name, entry.roles, entry.order, active_for=entry.active_for)
    assert [e.key for e in nav.entries()] == before


def test_top_bar_shows_user_role_and_unit_and_logout_is_post(world, login, english):
    html = login(world.agent).get("/intake/").content.decode()
    assert "agent" in html and "Agent" in html and "95598客服中心" in html
    assert 'action="/logout/" method="post"' in html
    assert 'action="/i18n/setlang/"' in html


def test_chinese_by_default_and_english_on_request(world, login):
    client = login(world.agent)
    assert "保存并派单" in client.get("/intake/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/intake/"})
    assert "Save and dispatch" in client.get("/intake/").content.decode()


def test_login_page_renders_without_inline_script(client, world):
    response = client.get(reverse("web:login"))
    html = response.content.decode()
    assert response.status_code == 200 and 'name="username"' in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all(" src=" in s for s in scripts)
    assert not re.search(r"\son[a-z]+=", html)
