"""The HTML forms of a sign-in or consent page, read as a browser without JavaScript would."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)  # named submit buttons


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower() or "get"))
            return
        if not self.forms or not a.get("name"):
            return
        form = self.forms[-1]
        kind = a.get("type", "submit" if tag == "button" else "text").lower()
        if tag in ("button", "input") and kind == "submit":
            form.buttons.append((a["name"], a.get("value", "")))
        elif tag == "input" and kind in ("checkbox", "radio"):
            if "checked" in a:
                form.fields[a["name"]] = a.get("value", "on")
        elif tag in ("input", "textarea", "select"):
            form.fields.setdefault(a["name"], a.get("value", ""))


def forms_in(html: str, base_url: str) -> list[Form]:
    """Every form of the page, its action made absolute (the page itself when it has none)."""
    parser = _Parser()
    parser.feed(html)
    for form in parser.forms:
        form.action = urljoin(base_url, form.action) if form.action else base_url
    return parser.forms
