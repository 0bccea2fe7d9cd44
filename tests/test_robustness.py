"""Hostile and random input: domain parsers raise only their own clear errors, and no query
string makes a page fail."""

from __future__ import annotations

import string

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal import catalog
from portal.browse import parse_filters
from portal.errors import Invalid
from portal.files import display_name

from .support import csrf_token

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
KEYS = list(catalog.FIELD_LABELS)


@given(st.dictionaries(st.sampled_from(KEYS), TEXT), st.lists(st.dictionaries(st.sampled_from(["title", "name", "data_type", "length", "open_type"]), TEXT), max_size=4))
def test_parse_entry_accepts_or_explains(data: dict[str, str], items: list[dict[str, str]]) -> None:
    try:
        fields = catalog.parse_entry({**data, "items": items})
    except Invalid as invalid:
        assert invalid.errors and all(isinstance(m, str) and m for m in invalid.errors.values())
    else:
        assert fields.title and fields.classification_code.isdigit()


@given(TEXT)
def test_display_names_are_always_safe(name: str) -> None:
    shown = display_name(name)
    assert shown and len(shown) <= 300
    assert "/" not in shown and "\\" not in shown and "\x00" not in shown
    assert not any(c in shown for c in "\u202e\u202d\u200f\u2066\u2067")


@given(st.dictionaries(st.sampled_from(["department", "classification", "format", "share", "open", "cycle", "x"]), TEXT))
def test_filters_ignore_what_they_do_not_know(args: dict[str, str]) -> None:
    parse_filters(args)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(q=st.text(alphabet=string.printable + "\x00中文%_'\"<>\\&;", max_size=300), page=st.text(max_size=8), share=st.text(max_size=8))
def test_catalog_page_never_fails(client: FlaskClient, q: str, page: str, share: str) -> None:
    response = client.get("/catalog", query_string={"q": q, "page": page, "share": share})
    assert response.status_code == (400 if "\x00" in q + page + share else 200)


def test_nul_in_a_form_is_refused_clearly(client: FlaskClient) -> None:
    response = client.post("/login", data={"login": "admin\x00", "password": "x", "csrf_token": csrf_token(client)})
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
