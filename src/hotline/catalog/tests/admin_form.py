"""Submit a Django admin change form as a browser would: read the page's
form fields (inlines and management forms included), change a few, post."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.data: dict[str, str | list[str]] = {}
        self._select: str | None = None
        self._multiple = False
        self._select_first: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.data[name] = a.get("value", "on")
            elif kind not in ("submit", "button", "file"):
                self.data[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select, self._select_first, self._multiple = name, None, "multiple" in a
            if self._multiple:
                self.data[name] = []
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                if self._multiple:
                    self.data[self._select].append(value)
                else:
                    self.data[self._select] = value
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            # A browser sends a single select's first option when none is marked.
            self.data.setdefault(self._select, self._select_first or "")
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.data[self._textarea] = "".join(self._text).lstrip("\n")
            self._textarea = None


def form_data(client, url: str) -> dict[str, str | list[str]]:
    r = client.get(url)
    assert r.status_code == 200, url
    reader = _FormReader()
    reader.feed(r.content.decode())
    reader.data.pop("csrfmiddlewaretoken", None)
    return reader.data


def post_form(client, url: str, changes: dict[str, str | None]):
    """Post the form at ``url`` with ``changes`` (None removes a field,
    as an unticked checkbox)."""
    data = form_data(client, url)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return client.post(url, data)
