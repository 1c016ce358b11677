"""The API documentation (/api/docs, drawn by Swagger UI from
/api/openapi.json) in the reader's language: for a Chinese user every
operation's summary and description, every tag, every answer's description
and every field description we write is Chinese; for an English user it
stays English. The schema is built per request, so one process serves both
languages, one after the other, without mixing them."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from hotline.organisation.services import issue_api_token
from hotline.testing import PASSWORD, english_words

pytestmark = pytest.mark.django_db

CJK = re.compile("[\u4e00-\u9fff]")
# File types, as the pages' test allows them.
ALLOW = {"xlsx"}
# The call-event ingest's schemas (calls/api.py, calls/models.py): their field
# descriptions are still English only.
NOT_YET = {"EventIn", "BatchOut", "EventType"}


def _texts(schema: dict):
    """(where, text) of every human text of the schema: the API's
    description, each operation's summary, description, tags, its answers'
    and parameters' descriptions, and each component's description and its
    fields' descriptions. Titles pydantic makes of field names are left out."""
    yield "info", schema["info"]["description"]
    for path, item in schema["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            yield f"{where} summary", op["summary"]
            if "description" in op:
                yield f"{where} description", op["description"]
            for tag in op.get("tags", []):
                yield f"{where} tag", tag
            for code, answer in op["responses"].items():
                yield f"{where} {code}", answer["description"]
                for name, header in answer.get("headers", {}).items():
                    if "description" in header:
                        yield f"{where} {code} {name}", header["description"]
            for parameter in op.get("parameters", []):
                if "description" in parameter:
                    yield f"{where} ?{parameter['name']}", parameter["description"]
    for name, component in schema["components"]["schemas"].items():
        if name in NOT_YET:
            continue
        if "description" in component:
            yield name, component["description"]
        for field, spec in component.get("properties", {}).items():
            if "description" in spec:
                yield f"{name}.{field}", spec["description"]


def _english(text: str) -> list[str]:
    return english_words(html.escape(text), allow=ALLOW)


def _operations(schema: dict) -> dict[str, dict]:
    return {f"{method.upper()} {path}": op for path, item in schema["paths"].items() for method, op in item.items()}


def _session(user, language=None) -> Client:
    c = Client()
    assert c.login(username=user.username, password=PASSWORD)
    if language:
        c.cookies["django_language"] = language
    return c


@pytest.mark.rule("N1g")
@pytest.mark.parametrize("reader", ["accept-language", "session", "session-cookie", "token"])
def test_the_api_docs_read_in_chinese_for_a_chinese_user(world, reader):
    if reader == "accept-language":
        client = Client(headers={"Accept-Language": "zh-hans"})
    elif reader == "session":  # no language chosen: Chinese, whatever the browser asks
        client = _session(world.agent)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9"
    elif reader == "session-cookie":
        client = _session(world.agent, "zh-hans")
    else:  # a token client without Accept-Language
        _, key = issue_api_token(user=world.agent, name="docs")
        client = Client(headers={"Authorization": f"Bearer {key}"})
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    texts = list(_texts(schema))
    assert len(_operations(schema)) >= 30 and len(texts) > 300
    english = {where: (text, _english(text)) for where, text in texts if _english(text)}
    assert english == {}, f"{len(english)} untranslated: {english}"
    # Translated, not merely free of words: every summary, tag and operation description is Chinese.
    for where, op in _operations(schema).items():
        assert CJK.search(op["summary"]), (where, op["summary"])
        assert op.get("tags") and all(CJK.search(tag) for tag in op["tags"]), (where, op.get("tags"))
        assert CJK.search(op.get("description", "说明")), (where, op["description"])
    ops = _operations(schema)
    assert ops["POST /api/orders"]["summary"] == "登记工单"
    assert ops["POST /api/orders"]["tags"] == ["工单"]
    assert ops["POST /api/orders"]["responses"]["409"]["description"].startswith("记录的当前状态不允许")
    assert ops["POST /api/calls/events"]["summary"] == "提交一批话务事件"


@pytest.mark.rule("N1g")
@pytest.mark.parametrize("reader", ["session-cookie", "token"])
def test_the_api_docs_stay_english_for_an_english_user(world, reader):
    if reader == "session-cookie":
        client = _session(world.agent, "en")
    else:
        _, key = issue_api_token(user=world.agent, name="docs")
        client = Client(headers={"Authorization": f"Bearer {key}", "Accept-Language": "en"})
    schema = client.get("/api/openapi.json").json()
    ops = _operations(schema)
    for where, op in ops.items():
        # English words in every summary and tag; Chinese only where an English text quotes it (催办, 停电类型).
        assert _english(op["summary"]), (where, op["summary"])
        assert all(_english(tag) for tag in op["tags"]), (where, op["tags"])
        assert not CJK.search(" ".join(op["tags"])), where
    assert ops["POST /api/orders"]["summary"] == "Record a work order"
    assert ops["POST /api/orders"]["tags"] == ["work orders"]
    assert ops["POST /api/orders"]["responses"]["201"]["description"] == "Created"
    assert ops["POST /api/orders"]["responses"]["404"]["description"] == "Not found, or not in the user's scope"
    assert ops["GET /api/orders"]["responses"]["200"]["description"] == "OK"
    assert ops["POST /api/public/orders/progress"]["responses"]["404"]["description"] == "Nothing found"
    assert schema["info"]["description"].startswith("Work orders, time limits")
    assert schema["components"]["schemas"]["PageOut"]["properties"]["count"]["description"] == \
        "matching orders, counted up to 10000"
    assert not [where for where, text in _texts(schema) if CJK.search(text) and not _english(text)]


@pytest.mark.rule("N1g")
def test_each_request_gets_the_schema_in_its_own_language(world):
    """ninja builds the schema per call and caches nothing; the lazy texts are
    rendered per request, so alternating readers never see each other's language."""
    chinese, english = _session(world.agent, "zh-hans"), _session(world.agent, "en")
    zh1, en1, zh2, en2 = (c.get("/api/openapi.json").json() for c in (chinese, english, chinese, english))
    assert zh1 == zh2 and en1 == en2
    zh_ops, en_ops = _operations(zh1), _operations(en1)
    assert zh_ops.keys() == en_ops.keys()
    for where in zh_ops:
        assert zh_ops[where]["summary"] != en_ops[where]["summary"], where
        assert zh_ops[where]["operationId"] == en_ops[where]["operationId"], where
    # Only the texts differ: paths, parameters, statuses and bodies are the same schema.
    assert zh1["components"]["schemas"].keys() == en1["components"]["schemas"].keys()
    for where in zh_ops:
        assert zh_ops[where]["responses"].keys() == en_ops[where]["responses"].keys(), where


@pytest.mark.rule("N1g")
def test_the_docs_page_names_its_language_for_swagger_ui(world):
    """core/api-docs.js swaps Swagger UI's own texts on a page marked Chinese,
    and must run before ninja's start-up script creates the UI."""
    chinese = _session(world.agent).get("/api/docs").content.decode()
    english = _session(world.agent, "en").get("/api/docs").content.decode()
    assert '<html lang="zh-hans">' in chinese and '<html lang="en">' in english
    for page in (chinese, english):
        scripts = re.findall(r'<script src="([^"]+)"', page)
        assert [s.rsplit("/", 1)[-1] for s in scripts] == ["swagger-ui-bundle.js", "api-docs.js", "swagger-ui-init.js"]
